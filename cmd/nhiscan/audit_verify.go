package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/signing"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

// auditVerifyCmd verifies the database, its audit log, the stored data
// against the log, anchors and evidence packs.
func (a *app) auditVerifyCmd() *cobra.Command {
	var evidence, anchors []string
	var pubFile string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the database, the audit log, the stored data against it, anchors and evidence packs; exit 1 on any mismatch",
		Long: `verify checks, reading the database only:

  1. the database file: PRAGMA integrity_check (a damaged file exits 3);
  2. the audit log's hash chain and its head: an entry edited, removed or
     inserted in place;
  3. the stored data against the hashes the log recorded: each snapshot
     (its bytes, its sha256 column and the scan.finish entry), each scan's
     findings and lifecycle events (findings_sha256, for scans stored since
     it is recorded; older ones are listed as not verified), each scan
     against its begin and finish entries, and each certification or export
     entry against the snapshot its scan recorded;
  4. with --anchor FILE (repeatable): that the anchored entry is still in
     the log with the anchored hash, so a log rebuilt after an edit or cut
     back is detected; the anchor's signature is checked with --public-key;
  5. with --evidence DIR (repeatable): the pack's files against manifest.json
     and SHA256SUMS (which must list exactly the pack's files), its snapshot
     against the hash its scan recorded, and its manifest against the
     evidence.export entry that recorded it, or, for a pack exported from a
     read-only database, against its signature.

With --public-key FILE every anchor and pack must carry a valid signature by
that key. Every problem is reported; the exit code is 1 if there is any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := &verifier{a: a}
			if pubFile != "" {
				k, err := signing.LoadPublicKey(pubFile)
				if err != nil {
					return usagef("--public-key: %v", err)
				}
				v.pub = k
			}
			for _, dir := range evidence {
				if fi, err := os.Stat(filepath.Join(dir, reports.FileManifest)); err != nil || fi.IsDir() {
					return usagef("--evidence %s: no %s there", dir, reports.FileManifest)
				}
			}
			return a.readStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				v.st = st
				return v.run(cmd.Context(), anchors, evidence)
			})
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&evidence, "evidence", nil, "also verify this evidence pack (repeatable)")
	f.StringSliceVar(&anchors, "anchor", nil, "also check this anchor of the audit log (repeatable; see 'audit anchor')")
	f.StringVar(&pubFile, "public-key", "", "Ed25519 public key: anchors and packs must carry a valid signature by it")
	return cmd
}

// verifier runs audit verify's checks and collects what failed.
type verifier struct {
	a      *app
	st     *store.Store
	pub    ed25519.PublicKey
	failed int
	// recs is the audit log, read once.
	recs []store.AuditRecord
}

// ok prints a check that passed; fail one that did not.
func (v *verifier) ok(format string, args ...any) {
	fmt.Fprintln(v.a.stdout, termLines(fmt.Sprintf(format, args...)))
}

func (v *verifier) fail(format string, args ...any) {
	v.failed++
	fmt.Fprintln(v.a.stderr, "nhiscan: "+termLines(fmt.Sprintf(format, args...)))
}

func (v *verifier) run(ctx context.Context, anchors, evidence []string) error {
	// A damaged file is not a verification result: it is corruption.
	// PostgreSQL checks its own pages; that is said, not skipped silently.
	if err := v.st.IntegrityCheck(ctx); errors.Is(err, store.ErrIntegrityNotChecked) {
		v.ok("database pages: not checked by nhiscan (%v)", err)
	} else if err != nil {
		return err
	}
	n, err := v.st.VerifyAudit(ctx)
	if err != nil {
		v.fail("audit log NOT intact: %v", err)
	} else {
		v.ok("audit log intact: %d entries", n)
	}
	if v.recs, err = v.st.AuditEntries(ctx); err != nil {
		return err
	}
	rep, err := v.st.VerifyStored(ctx)
	if err != nil {
		v.fail("stored data NOT as recorded: %v", err)
	} else {
		v.ok("stored data as recorded: %d scan(s), %d snapshot(s) and %d scan(s)' findings match the hashes the audit log recorded",
			rep.Scans, rep.Snapshots, rep.Findings)
	}
	if len(rep.FindingsNotRecorded) > 0 {
		v.ok("not verified: the findings of scan(s) %s, stored before nhiscan recorded their hash", joinIDs(rep.FindingsNotRecorded))
	}
	for _, path := range anchors {
		if err := v.anchor(ctx, path); err != nil {
			return err
		}
	}
	for _, dir := range evidence {
		if err := v.evidence(dir); err != nil {
			return err
		}
	}
	if v.failed > 0 {
		return failError{fmt.Sprintf("verification failed: %d problem(s) above", v.failed)}
	}
	return nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// anchor checks one anchor file: its signature, then that the log still
// holds the anchored entry with the anchored hash.
func (v *verifier) anchor(ctx context.Context, path string) error {
	stmt, err := readAnchor(path)
	if _, usage := err.(usageError); usage {
		return err
	}
	if err != nil {
		v.fail("anchor %s NOT verified: %v", path, err)
		return nil
	}
	signed, bad := v.signature(&stmt)
	if bad != nil {
		v.fail("anchor %s NOT verified: %v", path, bad)
		return nil
	}
	seq, _ := strconv.ParseInt(stmt.Get("seq"), 10, 64)
	if err := v.st.CheckAnchor(ctx, seq, stmt.Get("hash")); err != nil {
		v.fail("anchor %s NOT matched: %v (or the anchor is of another database)", path, err)
		return nil
	}
	head, err := v.st.Head(ctx)
	if err != nil {
		return err
	}
	v.ok("anchor %s matched: entry %d has the anchored hash (anchored %s, %s); entries appended since, not covered by it: %d",
		path, seq, stmt.Get("anchored_at"), signed, head.Seq-seq)
	return nil
}

// signature checks a statement's signature against --public-key. It
// returns how the statement is signed, for the report, or why it fails.
func (v *verifier) signature(s *signing.Statement) (string, error) {
	switch {
	case v.pub != nil:
		if err := s.Verify(v.pub); err != nil {
			return "", err
		}
		return "signature by " + s.KeyID + " verified", nil
	case s.Signed():
		return "signed by " + s.KeyID + ", signature not checked: no --public-key", nil
	}
	return "unsigned: it proves what the place it was kept proves", nil
}

// evidence checks one pack: its files, its snapshot against the hash its
// scan recorded, and its manifest against the export entry that recorded
// it or, failing that, its signature.
func (v *verifier) evidence(dir string) error {
	if err := reports.VerifyEvidence(dir); err != nil {
		v.fail("evidence %s NOT intact: %v", dir, err)
		return nil
	}
	sum, err := fileSHA256(filepath.Join(dir, reports.FileManifest))
	if err != nil {
		return err
	}
	m, err := readManifest(dir)
	if err != nil {
		v.fail("evidence %s NOT intact: %v", dir, err)
		return nil
	}
	subject := "scan:" + strconv.FormatInt(m.ScanID, 10)
	if fin := v.entry("scan.finish", subject, nil); fin == nil || fin.Detail["inventory_sha256"] != m.SnapshotSHA256 {
		v.fail("evidence %s NOT verified: its snapshot sha256 %s is not the one the audit log recorded for scan %d (pack of another database, or forged)",
			dir, m.SnapshotSHA256, m.ScanID)
		return nil
	}
	sig, hasSig, err := packSignature(dir)
	if err != nil {
		v.fail("evidence %s NOT verified: %v", dir, err)
		return nil
	}
	signed := "unsigned"
	switch {
	case hasSig && v.pub != nil:
		if err := checkPackSignature(&sig, v.pub, sum, &m); err != nil {
			v.fail("evidence %s NOT verified: %v", dir, err)
			return nil
		}
		signed = "signature by " + sig.KeyID + " verified"
	case v.pub != nil:
		v.fail("evidence %s NOT verified: it is not signed, and --public-key requires a signature", dir)
		return nil
	case hasSig:
		signed = "signed by " + sig.KeyID + ", signature not checked: no --public-key"
	}
	export := v.entry("evidence.export", subject, func(r *store.AuditRecord) bool { return r.Detail["manifest_sha256"] == sum })
	switch {
	case export != nil:
		v.ok("evidence %s intact: manifest sha256 %s recorded by audit entry %d (%s, %s); %s", dir, sum, export.Seq, export.Subject, fmtTime(export.At), signed)
	case hasSig && v.pub != nil:
		v.ok("evidence %s intact: manifest sha256 %s, %s; no export in this audit log recorded it (exported from a read-only copy)", dir, sum, signed)
	default:
		v.fail("evidence %s NOT verified: its files match its manifest, but no export in this database's audit log recorded manifest sha256 %s "+
			"(rewritten pack, or exported from another database; a signed pack verifies with --public-key)", dir, sum)
	}
	return nil
}

// entry is the first audit entry of action on subject that match accepts
// (any, when nil).
func (v *verifier) entry(action, subject string, match func(*store.AuditRecord) bool) *store.AuditRecord {
	for i := range v.recs {
		r := &v.recs[i]
		if r.Action == action && r.Subject == subject && (match == nil || match(r)) {
			return r
		}
	}
	return nil
}
