package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/signing"
	"github.com/nhiscan/nhiscan/internal/store"
)

// anchorFormat is the format line of an audit anchor; anchorFields are its
// fields, in order (see internal/signing for the layout).
const anchorFormat = "nhiscan-audit-anchor/1"

var anchorFields = []string{"seq", "hash", "entry_at", "anchored_at"}

// auditAnchorCmd writes an anchor of the audit log's head: its sequence
// number, hash and time, signed with a key when one is given.
func (a *app) auditAnchorCmd() *cobra.Command {
	var keyFile, out string
	cmd := &cobra.Command{
		Use:   "anchor",
		Short: "Write the audit log's head (seq, hash, time), signed with --key, to keep outside the database",
		Long: `anchor verifies the audit log and the stored data against it, then writes an
anchor of the log's head: the last entry's sequence number and hash, its time
and the time of anchoring. With --key FILE (or NHISCAN_SIGNING_KEY_FILE) the
anchor is signed with that Ed25519 key; without one it is printed for a
ticket or any record the database's writers cannot change.

Later, 'audit verify --anchor FILE' checks that the entry is still in the
log with the same hash: since each hash covers every entry before it, a log
rebuilt after an edit, or cut back before the anchor, no longer matches.
Entries appended after the anchor are not covered by it: anchor regularly
(after each scan, from cron). The anchor is written to --out FILE (never
overwritten) or to standard output. The database is only read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := a.signingKey(keyFile)
			if err != nil {
				return err
			}
			if out != "" {
				if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
					return usagef("--out %s already exists: an anchor is never overwritten", out)
				}
			}
			return a.readStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				stmt, err := a.anchor(cmd.Context(), st)
				if err != nil {
					return err
				}
				if key != nil {
					stmt.Sign(key)
				}
				return a.writeAnchor(out, stmt)
			})
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "Ed25519 private key that signs the anchor (default $"+envSigningKey+"; unsigned without)")
	cmd.Flags().StringVar(&out, "out", "", "file to write the anchor to (default standard output)")
	return cmd
}

// anchor is the statement of the head of a verified log; a log or stored
// data that does not verify is not anchored.
func (a *app) anchor(ctx context.Context, st *store.Store) (signing.Statement, error) {
	if _, err := st.VerifyAudit(ctx); err != nil {
		return signing.Statement{}, failError{fmt.Sprintf("not anchored: audit log NOT intact: %v", err)}
	}
	if _, err := st.VerifyStored(ctx); err != nil {
		return signing.Statement{}, failError{fmt.Sprintf("not anchored: %v", err)}
	}
	head, err := st.Head(ctx)
	if err != nil {
		return signing.Statement{}, err
	}
	if head.Seq == 0 {
		return signing.Statement{}, usagef("the audit log is empty: nothing to anchor")
	}
	return signing.Statement{Format: anchorFormat, Fields: []signing.Field{
		{Name: "seq", Value: strconv.FormatInt(head.Seq, 10)},
		{Name: "hash", Value: head.Hash},
		{Name: "entry_at", Value: head.At.UTC().Format(time.RFC3339Nano)},
		{Name: "anchored_at", Value: a.now().UTC().Format(time.RFC3339Nano)},
	}}, nil
}

func (a *app) writeAnchor(out string, stmt signing.Statement) error {
	text := stmt.Marshal()
	if out == "" {
		_, err := a.stdout.Write(text)
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return usagef("--out %s: %v", out, err)
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	signed := "unsigned"
	if stmt.Signed() {
		signed = "signed by " + stmt.KeyID
	}
	fmt.Fprintf(a.stdout, "anchor: %s: entry %s, hash %s (%s)\n", out, stmt.Get("seq"), stmt.Get("hash"), signed)
	return nil
}

// readAnchor reads an anchor file. A file that cannot be read is a usage
// error; one that is not an anchor is reported as a failed verification.
func readAnchor(path string) (signing.Statement, error) {
	b, err := signing.ReadFile(path)
	if err != nil {
		return signing.Statement{}, usagef("--anchor: %v", err)
	}
	stmt, err := signing.Parse(b, anchorFormat, anchorFields...)
	if err != nil {
		return signing.Statement{}, fmt.Errorf("not an audit anchor: %w", err)
	}
	if _, err := strconv.ParseInt(stmt.Get("seq"), 10, 64); err != nil {
		return signing.Statement{}, fmt.Errorf("not an audit anchor: seq %q", stmt.Get("seq"))
	}
	return stmt, nil
}
