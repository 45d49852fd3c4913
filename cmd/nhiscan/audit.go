package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/signing"
)

// auditCmd groups the audit-log commands, one file each: audit_verify.go,
// audit_log.go, audit_anchor.go, audit_keygen.go.
func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Work with the hash-chained audit log: verify, print, anchor it; make a signing key"}
	cmd.AddCommand(a.auditVerifyCmd(), a.auditLogCmd(), a.auditAnchorCmd(), a.auditKeygenCmd())
	return cmd
}

// envSigningKey names the private key that signs anchors and evidence
// manifests when --key is not given. The CLI reads it, not config.Load.
const envSigningKey = "NHISCAN_SIGNING_KEY_FILE"

// signingKey loads the private key named by --key (flag), else by
// $NHISCAN_SIGNING_KEY_FILE; nil when neither names one. A problem is a
// usage error naming where the name came from; a name that is no file is
// not repeated, since a key pasted in its place would be printed.
func (a *app) signingKey(flag string) (ed25519.PrivateKey, error) {
	path, from := flag, "--key"
	if path == "" {
		path, from = a.getenv(envSigningKey), envSigningKey
	}
	if path == "" {
		return nil, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, usagef("%s: no such file (the value is not repeated, in case a key was pasted in place of its file name)", from)
	}
	k, err := signing.LoadPrivateKey(path)
	if err != nil {
		return nil, usagef("%s: %v", from, err)
	}
	return k, nil
}

func fmtDetail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, d[k])
	}
	return b.String()
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fileSHA256 is the hex SHA-256 of a file's contents.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// actor names who ran a command, for the audit log.
func actor(getenv func(string) string) string {
	for _, k := range []string{"NHISCAN_ACTOR", "USER", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}
