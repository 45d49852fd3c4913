package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
)

// signedHistory is a database with two scans, a key pair, a signed
// evidence pack of scan 2 recorded in the audit log, and a signed anchor
// of the log's head taken after the export.
type signedHistory struct {
	c                      *cli
	db, key, pub           string
	pack, anchor, anchorTx string
}

func newSignedHistory(t *testing.T) *signedHistory {
	t.Helper()
	c := newCLI(t)
	h := &signedHistory{c: c, db: "--db=" + c.db(), key: filepath.Join(c.dir, "nhiscan.key")}
	h.pub = h.key + ".pub"
	cat := "--catalog=" + testdata("catalog.yaml")
	for _, inv := range []string{"scan1.json", "scan2.json"} {
		if code, out, errs := c.run("scan", h.db, cat, "--inventory", testdata(inv)); code != exitOK {
			t.Fatalf("scan %s = %d\n%s%s", inv, code, out, errs)
		}
	}
	if code, out, errs := c.run("audit", "keygen", "--out", h.key); code != exitOK || !strings.Contains(out, "key id: ed25519:") {
		t.Fatalf("keygen = %d\n%s%s", code, out, errs)
	}
	h.pack = filepath.Join(c.dir, "pack")
	if code, out, errs := c.run("export", "evidence", h.db, cat, "--scan", "2", "--out", h.pack, "--key", h.key); code != exitOK || !strings.Contains(out, "signed by ed25519:") {
		t.Fatalf("signed export = %d\n%s%s", code, out, errs)
	}
	h.anchor = filepath.Join(c.dir, "anchor")
	if code, out, errs := c.run("audit", "anchor", h.db, "--key", h.key, "--out", h.anchor); code != exitOK {
		t.Fatalf("anchor = %d\n%s%s", code, out, errs)
	}
	// The same head printed for a ticket: unsigned, on standard output.
	code, out, errs := c.run("audit", "anchor", h.db)
	if code != exitOK || !strings.HasPrefix(out, "nhiscan-audit-anchor/1\nseq: ") || strings.Contains(out, "signature:") {
		t.Fatalf("unsigned anchor = %d\n%s%s", code, out, errs)
	}
	h.anchorTx = filepath.Join(c.dir, "ticket-anchor")
	writeFile(t, h.anchorTx, out)
	return h
}

// verify runs audit verify with every check the history allows.
func (h *signedHistory) verify(extra ...string) (int, string, string) {
	args := append([]string{"audit", "verify", h.db, "--anchor", h.anchor, "--evidence", h.pack, "--public-key", h.pub}, extra...)
	return h.c.run(args...)
}

// sqlAttacker opens the database as someone with write access to the file:
// the append-only and immutability triggers are dropped first.
func sqlAttacker(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'trigger'")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		mustSQL(t, db, "DROP TRIGGER "+n)
	}
	return db
}

func mustSQL(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// rebuildAuditChain recomputes every hash of the log and its head, as an
// attacker who read the hash construction in the source would.
func rebuildAuditChain(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query("SELECT seq, at, actor, action, subject, detail FROM audit_log ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]any
	for rows.Next() {
		var seq int64
		var at, actor, action, subject, detail string
		if err := rows.Scan(&seq, &at, &actor, &action, &subject, &detail); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, []any{seq, at, actor, action, subject, detail})
	}
	rows.Close()
	prev := ""
	for _, e := range entries {
		b, _ := json.Marshal(append([]any{"nhiscan-audit-v1", e[0], prev}, e[1:]...))
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		mustSQL(t, db, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", prev, h, e[0])
		prev = h
	}
	mustSQL(t, db, "UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), hash = ?", prev)
}

// forgedInventory is scan 2's snapshot with its identities dropped, and
// its hash.
func forgedInventory(t *testing.T, db *sql.DB) ([]byte, string) {
	t.Helper()
	var b []byte
	if err := db.QueryRow("SELECT inventory FROM snapshots WHERE scan_id = 2").Scan(&b); err != nil {
		t.Fatal(err)
	}
	var inv map[string]any
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	inv["identities"] = []any{}
	out, _ := json.Marshal(inv)
	sum := sha256.Sum256(out)
	return out, hex.EncodeToString(sum[:])
}

// TestCLIEveryTamperCaseIsDetected: each attack issue 12 lists — by
// someone who can write the database file and the pack, but has neither
// the signing key nor the anchor — fails audit verify (exit 1) with a
// message that names it; an altered scan is not exported either.
func TestCLIEveryTamperCaseIsDetected(t *testing.T) {
	h := newSignedHistory(t)
	if code, out, errs := h.verify(); code != exitOK || !strings.Contains(out, "signature by ed25519:") || strings.Contains(out, "not checked") {
		t.Fatalf("verify of the untouched history = %d\n%s%s", code, out, errs)
	}
	// The head printed for a ticket verifies as what it is: unsigned.
	code, out, errs := h.c.run("audit", "verify", h.db, "--anchor", h.anchorTx)
	if code != exitOK || !strings.Contains(out, "unsigned: it proves what the place it was kept proves") {
		t.Fatalf("verify with a ticket anchor = %d\n%s%s", code, out, errs)
	}
	// --public-key requires every anchor to be signed.
	if code, out, errs := h.verify("--anchor", h.anchorTx); code != exitFindings || !strings.Contains(errs, "ticket-anchor NOT verified: statement is not signed") {
		t.Fatalf("verify of an unsigned anchor with --public-key = %d\n%s%s", code, out, errs)
	}
	pristine := copyTree(t, h.c.dir)

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB)
		pack   func(t *testing.T, dir string)
		want   []string
		// noExport: exporting scan 2 must be refused too.
		noExport bool
	}{
		{
			name: "replace a snapshot together with its sha256 column",
			tamper: func(t *testing.T, db *sql.DB) {
				b, sum := forgedInventory(t, db)
				mustSQL(t, db, "UPDATE snapshots SET inventory = ?, sha256 = ? WHERE scan_id = 2", b, sum)
			},
			want:     []string{"stored data NOT as recorded", "scan 2: the snapshot's sha256 is", "(snapshot replaced with its hash)"},
			noExport: true,
		},
		{
			name: "delete the log's tail and fix the head",
			tamper: func(t *testing.T, db *sql.DB) {
				mustSQL(t, db, "DELETE FROM audit_log WHERE seq >= (SELECT seq FROM audit_log WHERE action = 'scan.finish' AND subject = 'scan:2')")
				mustSQL(t, db, "UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)")
			},
			want:     []string{"scan 2: complete, but the audit log has no scan.finish entry", "(tail deleted)"},
			noExport: true,
		},
		{
			name: "delete only the export entry at the tail and fix the head",
			tamper: func(t *testing.T, db *sql.DB) {
				mustSQL(t, db, "DELETE FROM audit_log WHERE action = 'evidence.export'")
				mustSQL(t, db, "UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)")
			},
			want: []string{"(tail deleted)"},
		},
		{
			name: "rebuild the chain after an edit",
			tamper: func(t *testing.T, db *sql.DB) {
				b, sum := forgedInventory(t, db)
				var old string
				if err := db.QueryRow("SELECT sha256 FROM snapshots WHERE scan_id = 2").Scan(&old); err != nil {
					t.Fatal(err)
				}
				mustSQL(t, db, "UPDATE snapshots SET inventory = ?, sha256 = ? WHERE scan_id = 2", b, sum)
				mustSQL(t, db, "UPDATE audit_log SET detail = replace(detail, ?, ?)", old, sum)
				rebuildAuditChain(t, db)
			},
			want: []string{"NOT matched", "(the chain was rebuilt after an edit)",
				"its snapshot sha256", "is not the one the audit log recorded for scan 2"},
		},
		{
			name: "append a forged export entry for a forged pack",
			tamper: func(t *testing.T, db *sql.DB) {
				mustSQL(t, db, `INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
					SELECT MAX(seq) + 1, '2026-11-27T00:00:00.000000000Z', 'mallory', 'evidence.export', 'scan:2',
					json_object('dir', 'pack', 'manifest_sha256', ?, 'snapshot_sha256', (SELECT sha256 FROM snapshots WHERE scan_id = 2)), '', ''
					FROM audit_log`, forgedPackSum(t, h))
				rebuildAuditChain(t, db)
			},
			pack: func(t *testing.T, dir string) { forgePack(t, h, dir) },
			want: []string{"it is not signed, and --public-key requires a signature"},
		},
		{
			name: "re-sign a forged pack with another key",
			pack: func(t *testing.T, dir string) {
				forgePack(t, h, dir)
				other := filepath.Join(t.TempDir(), "other.key")
				if code, _, errs := h.c.run("audit", "keygen", "--out", other); code != exitOK {
					t.Fatal(errs)
				}
				k, err := (&app{getenv: func(string) string { return "" }}).signingKey(other)
				if err != nil {
					t.Fatal(err)
				}
				m, err := readManifest(dir)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := os.ReadFile(filepath.Join(dir, reports.FileManifest))
				sig, _ := manifestSigner(k, h.c.now)(raw, m)
				writeFile(t, filepath.Join(dir, reports.FileSignature), string(sig))
				rewriteSums(t, dir)
			},
			want: []string{"manifest.json.sig: signature does not verify: signed by key ed25519:"},
		},
		{
			name: "remove a line from SHA256SUMS",
			pack: func(t *testing.T, dir string) {
				p := filepath.Join(dir, reports.FileChecksums)
				b, _ := os.ReadFile(p)
				var keep []string
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					if !strings.HasSuffix(l, "  drift.csv") {
						keep = append(keep, l)
					}
				}
				writeFile(t, p, strings.Join(keep, "\n")+"\n")
			},
			want: []string{"SHA256SUMS: drift.csv is not listed"},
		},
		{
			name: "add an extra file to the pack",
			pack: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "waiver.csv"), "signed off\n")
				rewriteSums(t, dir)
			},
			want: []string{"waiver.csv: not listed in the manifest"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restoreTree(t, pristine, h.c.dir)
			if tc.tamper != nil {
				db := sqlAttacker(t, h.c.db())
				tc.tamper(t, db)
				db.Close()
			}
			if tc.pack != nil {
				tc.pack(t, h.pack)
			}
			code, out, errs := h.verify()
			if code != exitFindings {
				t.Errorf("audit verify after tampering = %d, want %d\n%s%s", code, exitFindings, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("audit verify does not say %q:\n%s", w, errs)
				}
			}
			if !tc.noExport {
				return
			}
			code, out, errs = h.c.run("export", "evidence", h.db, "--scan", "2", "--out", filepath.Join(t.TempDir(), "p"))
			if code != exitFindings || !strings.Contains(errs, "not exported") {
				t.Errorf("export of the altered scan = %d, want %d\n%s%s", code, exitFindings, out, errs)
			}
		})
	}
}

// forgePack rewrites the pack whole, consistent and unsigned, with every
// finding's owner changed: what a holder of the pack alone could do.
func forgePack(t *testing.T, h *signedHistory, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenConfig(context.Background(), store.Config{Path: h.c.db(), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{now: func() time.Time { return h.c.now }, getenv: func(string) string { return "" }}
	in, err := a.reportInput(context.Background(), st, 2, nil)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in.Findings {
		in.Findings[i].Owner = "mallory@acme.example"
	}
	if _, err := reports.WriteEvidence(dir, in, h.c.now); err != nil {
		t.Fatal(err)
	}
}

// forgedPackSum is the manifest hash of the pack forgePack writes.
func forgedPackSum(t *testing.T, h *signedHistory) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "forged")
	forgePack(t, h, dir)
	sum, err := fileSHA256(filepath.Join(dir, reports.FileManifest))
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// rewriteSums writes a SHA256SUMS listing every other file of dir.
func rewriteSums(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		if e.Name() == reports.FileChecksums {
			continue
		}
		sum, err := fileSHA256(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(sum + "  " + e.Name() + "\n")
	}
	writeFile(t, filepath.Join(dir, reports.FileChecksums), b.String())
}

// copyTree reads every regular file under dir.
func copyTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// restoreTree puts dir back to files: what is not in files is removed.
func restoreTree(t *testing.T, files map[string][]byte, dir string) {
	t.Helper()
	var extra []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if _, ok := files[p]; !ok {
				extra = append(extra, p)
			}
		}
		return nil
	})
	for _, p := range extra {
		os.Remove(p)
	}
	for p, b := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCLISigningKeys: keygen never overwrites a key; a key named by
// NHISCAN_SIGNING_KEY_FILE signs exports and anchors; a --key value that is
// no file is never repeated (it may be a pasted key); a key others can read
// is refused, naming where it came from; a log that does not verify is not
// anchored.
func TestCLISigningKeys(t *testing.T) {
	h := newSignedHistory(t)
	c := h.c
	if code, _, errs := c.run("audit", "keygen", "--out", h.key); code != exitUsage || !strings.Contains(errs, "never overwritten") {
		t.Errorf("keygen over an existing key = %d\n%s", code, errs)
	}
	c.env[envSigningKey] = h.key
	pack := filepath.Join(c.dir, "pack-env")
	if code, out, errs := c.run("export", "evidence", h.db, "--out", pack); code != exitOK || !strings.Contains(out, "signed by ed25519:") {
		t.Errorf("export with %s = %d\n%s%s", envSigningKey, code, out, errs)
	}
	if code, out, errs := c.run("audit", "verify", h.db, "--evidence", pack, "--public-key", h.pub); code != exitOK {
		t.Errorf("verify of the env-signed pack = %d\n%s%s", code, out, errs)
	}
	if code, out, _ := c.run("audit", "anchor", h.db); code != exitOK || !strings.Contains(out, "\nsignature: ") {
		t.Errorf("anchor with %s = %d, want a signed anchor\n%s", envSigningKey, code, out)
	}

	pasted := "-----BEGIN PRIVATE KEY-----MC4CAQAwBQYDK2VwBCIEIJ"
	code, _, errs := c.run("export", "evidence", h.db, "--out", filepath.Join(c.dir, "p2"), "--key", pasted)
	if code != exitUsage || strings.Contains(errs, "MC4CAQ") || !strings.Contains(errs, "--key: no such file") {
		t.Errorf("--key with a pasted key = %d, want %d without repeating it\n%s", code, exitUsage, errs)
	}
	c.env[envSigningKey] = pasted
	code, _, errs = c.run("audit", "anchor", h.db)
	if code != exitUsage || strings.Contains(errs, "MC4CAQ") || !strings.Contains(errs, envSigningKey+": no such file") {
		t.Errorf("%s with a pasted key = %d, want %d naming the variable\n%s", envSigningKey, code, exitUsage, errs)
	}
	delete(c.env, envSigningKey)
	if err := os.Chmod(h.key, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := c.run("audit", "anchor", h.db, "--key", h.key); code != exitUsage || !strings.Contains(errs, "--key: private key") || !strings.Contains(errs, "chmod 600") {
		t.Errorf("a world-readable key = %d\n%s", code, errs)
	}
	if code, _, errs := c.run("audit", "verify", h.db, "--public-key", h.key); code != exitUsage || !strings.Contains(errs, "--public-key") {
		t.Errorf("a private key as --public-key = %d\n%s", code, errs)
	}
	if code, _, errs := c.run("audit", "anchor", h.db, "--out", h.anchor); code != exitUsage || !strings.Contains(errs, "never overwritten") {
		t.Errorf("anchor over an existing anchor = %d\n%s", code, errs)
	}

	db := sqlAttacker(t, c.db())
	mustSQL(t, db, "UPDATE snapshots SET sha256 = 'x' WHERE scan_id = 1")
	db.Close()
	if code, out, errs := c.run("audit", "anchor", h.db); code != exitFindings || !strings.Contains(errs, "not anchored") || out != "" {
		t.Errorf("anchor of altered stored data = %d, want %d and no anchor\n%s%s", code, exitFindings, out, errs)
	}
}
