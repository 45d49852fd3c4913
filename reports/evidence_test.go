package reports_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

var generatedAt = ts("2026-03-02T08:00:00Z")

var csvFiles = []string{reports.FilePopulation, reports.FileEntitlements, reports.FileFindings, reports.FileDrift, reports.FileGaps}

func writePack(t testing.TB, in reports.Input) (string, reports.Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pack")
	m, err := reports.WriteEvidence(dir, in, generatedAt)
	if err != nil {
		t.Fatalf("WriteEvidence: %v", err)
	}
	return dir, m
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll() // FieldsPerRecord 0: every row as wide as the header
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func TestEvidenceGolden(t *testing.T) {
	dir, m := writePack(t, fixture(t))
	for _, name := range append(slices.Clone(csvFiles), reports.FileManifest, reports.FileChecksums) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "evidence-"+name+".golden", b)
	}
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	want := []string{"SHA256SUMS", "drift.csv", "entitlements.csv", "findings.csv", "gaps.csv", "manifest.json", "population.csv", "snapshot.json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pack files (-want +got):\n%s", diff)
	}
	// The returned manifest is the one written.
	var onDisk reports.Manifest
	b, _ := os.ReadFile(filepath.Join(dir, reports.FileManifest))
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, onDisk); diff != "" {
		t.Errorf("returned manifest differs from manifest.json (-returned +file):\n%s", diff)
	}
}

// TestEvidenceRoundTrip reads every CSV back with encoding/csv, checks the
// cells against the fixture and re-encodes the records to the same bytes.
func TestEvidenceRoundTrip(t *testing.T) {
	in := fixture(t)
	dir, m := writePack(t, in)
	snapSHA := in.Inventory.Hash()
	rows := map[string]int{}
	for _, f := range m.Files {
		rows[f.Name] = f.Rows
	}
	parsed := map[string][]map[string]string{}
	for _, name := range csvFiles {
		path := filepath.Join(dir, name)
		recs := readCSV(t, path)
		if len(recs)-1 != rows[name] {
			t.Errorf("%s: %d data rows, manifest says %d", name, len(recs)-1, rows[name])
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.WriteAll(recs)
		raw, _ := os.ReadFile(path)
		if !bytes.Equal(buf.Bytes(), raw) {
			t.Errorf("%s does not round-trip through encoding/csv", name)
		}
		header := recs[0]
		if header[0] != "snapshot_at" || header[1] != "snapshot_sha256" {
			t.Errorf("%s: header starts %q, want snapshot_at, snapshot_sha256", name, header[:2])
		}
		for _, rec := range recs[1:] {
			row := map[string]string{}
			for i, h := range header {
				row[h] = rec[i]
			}
			if row["snapshot_at"] != "2026-03-01T10:00:30Z" || row["snapshot_sha256"] != snapSHA {
				t.Errorf("%s: row snapshot %s %s, want 2026-03-01T10:00:30Z %s", name, row["snapshot_at"], row["snapshot_sha256"], snapSHA)
			}
			parsed[name] = append(parsed[name], row)
		}
	}

	// population: one row per identity x credential, one for an identity without.
	type key struct{ ID, Cred string }
	var want []key
	for _, id := range in.Inventory.Identities {
		if len(id.Credentials) == 0 {
			want = append(want, key{id.ID, ""})
		}
		for _, c := range id.Credentials {
			want = append(want, key{id.ID, c.ID})
		}
	}
	var got []key
	byKey := map[key]map[string]string{}
	for _, r := range parsed[reports.FilePopulation] {
		k := key{r["identity_id"], r["credential_id"]}
		got = append(got, k)
		byKey[k] = r
	}
	sortKeys := func(a, b key) int { return strings.Compare(a.ID+"\x00"+a.Cred, b.ID+"\x00"+b.Cred) }
	slices.SortFunc(want, sortKeys)
	gotSorted := slices.Clone(got)
	slices.SortFunc(gotSorted, sortKeys)
	if diff := cmp.Diff(want, gotSorted); diff != "" {
		t.Errorf("population rows (-want +got):\n%s", diff)
	}
	// Order: provider, scope, identity, credential.
	wantOrder := []key{
		{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, {"aws:AIDAEXAMPLE1", "AKIAEXAMPLE2"}, {"aws:AROAEXAMPLE1", ""},
		{"azure:00000000-0000-0000-0000-0000000000a1", "b0b0b0b0-0000-0000-0000-000000000001"},
		{"gcp:104000000000000000001", "0123abcd"}, {"github:deploy-key:99", "99"},
	}
	if diff := cmp.Diff(wantOrder, got); diff != "" {
		t.Errorf("population order (-want +got):\n%s", diff)
	}

	checks := []struct {
		k          key
		col, value string
	}{
		// Times converted to UTC; credential usage is per credential.
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "credential_created_at", "2024-01-10T09:05:00Z"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "credential_last_used_at", "2026-02-28T23:10:00Z"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "credential_usage_state", "used"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE2"}, "credential_usage_state", "never-used"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE2"}, "credential_last_used_at", ""},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE2"}, "credential_last_used_data_as_of", "2026-03-01T09:00:00Z"},
		// Per-key precision: the never-used finding is on key 2 only.
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "finding_families", "over-privileged;long-lived"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE2"}, "finding_families", "dormant;over-privileged;long-lived;drift"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE2"}, "severity", "high"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "catalog_role_id", "ci-deploy"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "business_owner", "alice@example.com"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "technical_owner", "platform@example.com"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "grant_count", "2"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "privileged_grant_count", "1"},
		{key{"aws:AIDAEXAMPLE1", "AKIAEXAMPLE1"}, "control_refs",
			"NIST-800-53:AC-6;NIST-800-53:IA-5(f);NIST-CSF-2.0:PR.AA-05;OWASP-NHI5:2025;OWASP-NHI7:2025;SOC2:CC6.3"},
		// Formula-looking name neutralised; suppressed finding shows as exception, not family.
		{key{"aws:AROAEXAMPLE1", ""}, "identity_name", "'" + formula},
		{key{"aws:AROAEXAMPLE1", ""}, "finding_families", "unmapped"},
		{key{"aws:AROAEXAMPLE1", ""}, "exceptions", "EXC-7 " + formulaAt},
		{key{"aws:AROAEXAMPLE1", ""}, "exception_expires_at", "2026-06-30T00:00:00Z"},
		{key{"aws:AROAEXAMPLE1", ""}, "credential_id", ""},
		{key{"aws:AROAEXAMPLE1", ""}, "owner_status", "none"},
		{key{"aws:AROAEXAMPLE1", ""}, "scope_partial", "true"}, // a usage-only gap: usage was not observed
		{key{"gcp:104000000000000000001", "0123abcd"}, "owner_status", "unknown"},
		{key{"gcp:104000000000000000001", "0123abcd"}, "credential_expires_at", ""},
		{key{"gcp:104000000000000000001", "0123abcd"}, "identity_name", "'" + formulaP},
		{key{"github:deploy-key:99", "99"}, "identity_name", "'" + formulaAt},
		{key{"github:deploy-key:99", "99"}, "credential_name", "'\rdeploy"},
		{key{"github:deploy-key:99", "99"}, "business_owner", "'\tbob"},
		{key{"github:deploy-key:99", "99"}, "finding_families", "drift"}, // credential-too-old is resolved
		{key{"azure:00000000-0000-0000-0000-0000000000a1", "b0b0b0b0-0000-0000-0000-000000000001"}, "identity_name", xssScript},
		{key{"azure:00000000-0000-0000-0000-0000000000a1", "b0b0b0b0-0000-0000-0000-000000000001"}, "owner_hints", "entra-owner:" + xssURL + ";tag:" + xssImg},
	}
	for _, c := range checks {
		r, ok := byKey[c.k]
		if !ok {
			t.Errorf("population: no row %v", c.k)
			continue
		}
		if r[c.col] != c.value {
			t.Errorf("population %v %s = %q, want %q", c.k, c.col, r[c.col], c.value)
		}
	}

	// entitlements: one row per identity x grant.
	grants := 0
	for _, id := range in.Inventory.Identities {
		grants += len(id.Grants)
	}
	if n := len(parsed[reports.FileEntitlements]); n != grants {
		t.Errorf("entitlements: %d rows, want %d", n, grants)
	}
	for _, r := range parsed[reports.FileEntitlements] {
		if strings.Contains(r["grant_id"], "AdministratorAccess") {
			if r["finding_families"] != "over-privileged" || r["privileged"] != "true" || r["granted_at"] != "2025-11-02T12:00:00Z" {
				t.Errorf("admin grant row: %v", r)
			}
		}
		if r["grant_id"] == "inline-policy:deploy" && r["via"] != "'"+formulaM {
			t.Errorf("via = %q, want neutralised %q", r["via"], "'"+formulaM)
		}
	}

	// findings and drift split by family, all statuses kept.
	nonDrift, drift := 0, 0
	for _, f := range in.Findings {
		if f.Family == "drift" {
			drift++
		} else {
			nonDrift++
		}
	}
	if n := len(parsed[reports.FileFindings]); n != nonDrift {
		t.Errorf("findings.csv: %d rows, want %d", n, nonDrift)
	}
	if n := len(parsed[reports.FileDrift]); n != drift {
		t.Errorf("drift.csv: %d rows, want %d", n, drift)
	}
	for _, r := range parsed[reports.FileFindings] {
		if r["family"] == "drift" {
			t.Errorf("findings.csv holds a drift finding: %v", r)
		}
	}
	for _, r := range parsed[reports.FileDrift] {
		if r["family"] != "drift" {
			t.Errorf("drift.csv holds a %s finding", r["family"])
		}
	}
	checkCoverageRows(t, in, parsed[reports.FileGaps])
	checkLifecycleColumns(t, parsed[reports.FileFindings])
}

// checkCoverageRows: gaps.csv is the coverage matrix. Every gap hides
// a row; an observed cell has no gap; proj-b, whose identity list was
// denied, is a row not observed.
func checkCoverageRows(t *testing.T, in reports.Input, rows []map[string]string) {
	t.Helper()
	sources := map[string]bool{}
	observed := 0
	for _, r := range rows {
		switch r["observed"] {
		case "true":
			observed++
			if r["gap_source"] != "" || r["why"] != "" {
				t.Errorf("observed cell with a gap: %v", r)
			}
		case "false":
			sources[r["gap_source"]] = true
			if r["why"] == "" {
				t.Errorf("unobserved cell without a reason: %v", r)
			}
		default:
			t.Errorf("observed = %q", r["observed"])
		}
	}
	for _, g := range in.Inventory.Gaps {
		if !sources[g.Source] {
			t.Errorf("gap %s hides no row of gaps.csv", g.Source)
		}
	}
	if observed == 0 {
		t.Error("gaps.csv has no observed cell")
	}
	want := map[string]string{"provider": "gcp", "scope": "proj-b", "facet": "identities", "observed": "false", "gap_kind": "denied",
		"why": "iam.serviceAccounts.list denied", "permission": "iam.serviceAccounts.list", "scope_name": "empty project"}
	for _, r := range rows {
		if r["scope"] == "proj-b" && r["facet"] == "identities" {
			for k, v := range want {
				if r[k] != v {
					t.Errorf("proj-b identities: %s = %q, want %q", k, r[k], v)
				}
			}
			return
		}
	}
	t.Error("gaps.csv has no row for proj-b's identities")
}

// checkLifecycleColumns: findings.csv carries resolved at, the scan that
// resolved it, the facets and the not-re-evaluated mark.
func checkLifecycleColumns(t *testing.T, rows []map[string]string) {
	t.Helper()
	var resolved, kept int
	for _, r := range rows {
		switch {
		case r["status"] == "resolved":
			resolved++
			if r["resolved_at"] != "2026-03-01T10:00:00Z" || r["resolved_scan_id"] != "42" || r["not_reevaluated"] != "false" {
				t.Errorf("resolved row: %v", r)
			}
		case r["not_reevaluated"] == "true":
			kept++
			if r["not_reevaluated_reason"] != "usage: iam:GetRoleLastUsed denied" || r["resolved_at"] != "" || r["facets"] != "" {
				t.Errorf("not re-evaluated row: %v", r)
			}
		default:
			if r["facets"] == "" || r["resolved_scan_id"] != "" {
				t.Errorf("open row: facets %q, resolved by %q", r["facets"], r["resolved_scan_id"])
			}
		}
	}
	if resolved != 1 || kept != 1 {
		t.Errorf("%d resolved and %d not re-evaluated rows, want 1 and 1", resolved, kept)
	}
}

var dangerous = []byte{'=', '+', '-', '@', '\t', '\r', 0}

// TestEvidenceNoFormulaCells scans every cell of every CSV of the pack.
func TestEvidenceNoFormulaCells(t *testing.T) {
	dir, _ := writePack(t, fixture(t))
	for _, name := range csvFiles {
		for i, rec := range readCSV(t, filepath.Join(dir, name)) {
			for j, cell := range rec {
				if cell != "" && slices.Contains(dangerous, cell[0]) {
					t.Errorf("%s row %d col %d starts with %q: %q", name, i, j, cell[0], cell)
				}
			}
		}
	}
}

func TestEvidenceManifest(t *testing.T) {
	in := fixture(t)
	dir, m := writePack(t, in)
	snap, err := os.ReadFile(filepath.Join(dir, reports.FileSnapshot))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(snap)
	if got := hex.EncodeToString(sum[:]); got != m.SnapshotSHA256 || got != in.Inventory.Hash() {
		t.Errorf("snapshot.json sha256 %s, manifest %s, inventory hash %s: want all equal", got, m.SnapshotSHA256, in.Inventory.Hash())
	}
	if !m.Partial || m.ScanID != 42 || m.PreviousScanID != 41 || m.GeneratedAt != "2026-03-02T08:00:00Z" {
		t.Errorf("manifest header: partial=%v scan=%d previous=%d generated=%s", m.Partial, m.ScanID, m.PreviousScanID, m.GeneratedAt)
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		if hex.EncodeToString(s[:]) != f.SHA256 || len(b) != f.Bytes {
			t.Errorf("%s: manifest sha256/bytes do not match the file", f.Name)
		}
	}
	var scopes []string
	for _, s := range m.Scopes {
		scopes = append(scopes, string(s.Provider)+"/"+s.ID)
		if s.Provider == "gcp" && s.ID == "proj-b" && (!s.Partial || s.Gaps != 1 || s.Identities != 0 || !slices.Equal(s.NotObserved, []nhi.Facet{"identities"})) {
			t.Errorf("proj-b: %+v, want partial with one gap and no identities", s)
		}
		if s.Provider == "aws" && s.ID == "111111111111" && (s.Identities != 1 || s.Credentials != 2 || s.Grants != 2 || s.OpenFindings != 4) {
			t.Errorf("aws 111111111111: %+v", s)
		}
	}
	if m.Totals.NotReevaluatedFindings != 1 {
		t.Errorf("totals: %d findings not re-evaluated, want 1", m.Totals.NotReevaluatedFindings)
	}
	wantScopes := []string{"aws/111111111111", "aws/222222222222", "azure/tenant-contoso", "gcp/proj-a", "gcp/proj-b", "github/acme"}
	if diff := cmp.Diff(wantScopes, scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

func TestWriteEvidenceErrors(t *testing.T) {
	in := fixture(t)
	t.Run("non-empty dir", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "old.csv"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := reports.WriteEvidence(dir, in, generatedAt); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("err = %v, want a not-empty error", err)
		}
	})
	t.Run("snapshot hash mismatch", func(t *testing.T) {
		bad := in
		bad.Scan.SnapshotHash = strings.Repeat("0", 64)
		if _, err := reports.WriteEvidence(filepath.Join(t.TempDir(), "p"), bad, generatedAt); err == nil || !strings.Contains(err.Error(), "hashes to") {
			t.Errorf("err = %v, want a snapshot mismatch", err)
		}
	})
	t.Run("snapshot hash matches", func(t *testing.T) {
		good := in
		good.Scan.SnapshotHash = strings.ToUpper(in.Inventory.Hash())
		if _, err := reports.WriteEvidence(filepath.Join(t.TempDir(), "p"), good, generatedAt); err != nil {
			t.Errorf("err = %v", err)
		}
	})
}

func TestVerifyEvidence(t *testing.T) {
	in := fixture(t)
	cases := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		want   string // substring of the error; "" means valid
	}{
		{"untouched", func(*testing.T, string) {}, ""},
		{"one byte changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, reports.FilePopulation)
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte("alice@example.com"), []byte("alice@example.org"), 1)
			writeFile(t, p, b)
		}, "population.csv: sha256"},
		{"row deleted", func(t *testing.T, dir string) {
			p := filepath.Join(dir, reports.FileFindings)
			b, _ := os.ReadFile(p)
			lines := bytes.SplitAfter(b, []byte("\n"))
			writeFile(t, p, bytes.Join(append(lines[:1], lines[2:]...), nil))
		}, "findings.csv: sha256"},
		{"file removed", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, reports.FileGaps)); err != nil {
				t.Fatal(err)
			}
		}, "gaps.csv"},
		{"file added", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "extra.csv"), []byte("a\n"))
		}, "extra.csv: not listed"},
		{"SHA256SUMS line removed", func(t *testing.T, dir string) {
			editSums(t, dir, func(lines []string) []string {
				return slices.DeleteFunc(lines, func(l string) bool { return strings.HasSuffix(l, "  "+reports.FileGaps) })
			})
		}, "SHA256SUMS: gaps.csv is not listed"},
		{"SHA256SUMS line repeated", func(t *testing.T, dir string) {
			editSums(t, dir, func(lines []string) []string { return append(lines, lines[0]) })
		}, "is listed again (first on line 1)"},
		{"file added and listed in SHA256SUMS", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "extra.csv"), []byte("a\n"))
			editSums(t, dir, func(lines []string) []string {
				s := sha256.Sum256([]byte("a\n"))
				return append(lines, hex.EncodeToString(s[:])+"  extra.csv")
			})
		}, "extra.csv: not listed in the manifest"},
		{"directory added", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "more"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "SHA256SUMS: more is not listed"},
		{"signature removed from a signed pack", func(t *testing.T, dir string) {
			addSignature(t, dir)
			if err := os.Remove(filepath.Join(dir, reports.FileSignature)); err != nil {
				t.Fatal(err)
			}
		}, "manifest.json.sig: no such file"},
		{"signature listed", func(t *testing.T, dir string) { addSignature(t, dir) }, ""},
		{"snapshot changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, reports.FileSnapshot)
			b, _ := os.ReadFile(p)
			writeFile(t, p, bytes.Replace(b, []byte("ci-deployer"), []byte("ci-deplorer"), 1))
		}, "snapshot_sha256"},
		{"manifest and file rewritten, checksums not", func(t *testing.T, dir string) {
			p := filepath.Join(dir, reports.FileDrift)
			b, _ := os.ReadFile(p)
			b = append(b, b[bytes.IndexByte(b, '\n')+1:]...) // duplicate the rows
			writeFile(t, p, b)
			mp := filepath.Join(dir, reports.FileManifest)
			var m reports.Manifest
			raw, _ := os.ReadFile(mp)
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for i := range m.Files {
				if m.Files[i].Name == reports.FileDrift {
					s := sha256.Sum256(b)
					m.Files[i].SHA256, m.Files[i].Bytes, m.Files[i].Rows = hex.EncodeToString(s[:]), len(b), m.Files[i].Rows*2
				}
			}
			out, _ := json.MarshalIndent(m, "", "  ")
			writeFile(t, mp, append(out, '\n'))
		}, "SHA256SUMS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := writePack(t, in)
			c.mutate(t, dir)
			err := reports.VerifyEvidence(dir)
			if c.want == "" {
				if err != nil {
					t.Fatalf("VerifyEvidence: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifyEvidence accepted a pack with %s", c.name)
			}
			if !errors.Is(err, reports.ErrEvidenceMismatch) {
				t.Errorf("error does not wrap ErrEvidenceMismatch: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// editSums rewrites SHA256SUMS through edit, a line at a time.
func editSums(t *testing.T, dir string, edit func([]string) []string) {
	t.Helper()
	p := filepath.Join(dir, reports.FileChecksums)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := edit(strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"))
	writeFile(t, p, []byte(strings.Join(lines, "\n")+"\n"))
}

// addSignature adds a signature file to a pack and lists it in
// SHA256SUMS, as WriteEvidenceSigned does.
func addSignature(t *testing.T, dir string) {
	t.Helper()
	sig := []byte("a signed statement\n")
	writeFile(t, filepath.Join(dir, reports.FileSignature), sig)
	editSums(t, dir, func(lines []string) []string {
		s := sha256.Sum256(sig)
		return append(lines, hex.EncodeToString(s[:])+"  "+reports.FileSignature)
	})
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyEvidenceReadsFormat1: a pack written before the coverage
// matrix (format nhiscan-evidence/1) still verifies; an unknown format
// does not.
func TestVerifyEvidenceReadsFormat1(t *testing.T) {
	for format, ok := range map[string]bool{"nhiscan-evidence/1": true, "nhiscan-evidence/9": false} {
		dir, _ := writePack(t, fixture(t))
		mp := filepath.Join(dir, reports.FileManifest)
		raw, err := os.ReadFile(mp)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.Replace(raw, []byte(`"format": "`+reports.EvidenceFormat+`"`), []byte(`"format": "`+format+`"`), 1)
		writeFile(t, mp, raw)
		sums, err := os.ReadFile(filepath.Join(dir, reports.FileChecksums))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
			if strings.HasSuffix(line, "  "+reports.FileManifest) {
				s := sha256.Sum256(raw)
				line = hex.EncodeToString(s[:]) + "  " + reports.FileManifest
			}
			out = append(out, line)
		}
		writeFile(t, filepath.Join(dir, reports.FileChecksums), []byte(strings.Join(out, "\n")+"\n"))
		if err := reports.VerifyEvidence(dir); (err == nil) != ok {
			t.Errorf("format %s: VerifyEvidence = %v", format, err)
		}
	}
}

// TestEvidenceRoundTripsAnyInventory: export then verify, for an empty
// inventory (given with nil or empty lists), one identity and the
// demo-like fixture, with the snapshot and its hash as the store has
// always recorded them (lists copied, so an empty one is nil: "null").
func TestEvidenceRoundTripsAnyInventory(t *testing.T) {
	one := fixture(t)
	one.Inventory.Identities = one.Inventory.Identities[:1]
	one.Findings = nil
	empty := fixture(t)
	empty.Inventory.Scopes, empty.Inventory.Identities, empty.Inventory.Gaps = nil, nil, nil
	empty.Findings, empty.Ownership = nil, nil
	emptyLists := empty
	emptyLists.Inventory.Scopes, emptyLists.Inventory.Identities = []nhi.Scope{}, []nhi.Identity{}
	for name, in := range map[string]reports.Input{"demo-like": fixture(t), "one identity": one, "empty": empty, "empty lists": emptyLists} {
		t.Run(name, func(t *testing.T) {
			asStored := in.Inventory
			asStored.Scopes = append([]nhi.Scope(nil), asStored.Scopes...)
			asStored.Identities = append([]nhi.Identity(nil), asStored.Identities...)
			var stored bytes.Buffer
			if err := nhi.Encode(&stored, asStored); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(stored.Bytes())
			in.Scan.SnapshotHash = hex.EncodeToString(sum[:])
			dir, m := writePack(t, in)
			if err := reports.VerifyEvidence(dir); err != nil {
				t.Fatalf("VerifyEvidence: %v", err)
			}
			snap, err := os.ReadFile(filepath.Join(dir, reports.FileSnapshot))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(snap, stored.Bytes()) || m.SnapshotSHA256 != in.Scan.SnapshotHash {
				t.Errorf("snapshot.json differs from the stored snapshot")
			}
		})
	}
}

// TestWriteEvidenceSigned: a signer's statement over manifest.json is
// written as manifest.json.sig, listed in SHA256SUMS, not in the
// manifest, and the pack verifies; a signer's failure writes nothing.
func TestWriteEvidenceSigned(t *testing.T) {
	in := fixture(t)
	dir := filepath.Join(t.TempDir(), "pack")
	var signed []byte
	m, err := reports.WriteEvidenceSigned(dir, in, generatedAt, func(manifest []byte, m reports.Manifest) ([]byte, error) {
		signed = manifest
		return []byte("signed " + m.SnapshotSHA256 + "\n"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.VerifyEvidence(dir); err != nil {
		t.Fatalf("VerifyEvidence: %v", err)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, reports.FileManifest))
	sig, _ := os.ReadFile(filepath.Join(dir, reports.FileSignature))
	sums, _ := os.ReadFile(filepath.Join(dir, reports.FileChecksums))
	if !bytes.Equal(signed, manifest) || string(sig) != "signed "+m.SnapshotSHA256+"\n" || !strings.Contains(string(sums), "  "+reports.FileSignature+"\n") {
		t.Errorf("signature %q over %d bytes; SHA256SUMS:\n%s", sig, len(signed), sums)
	}
	for _, f := range m.Files {
		if f.Name == reports.FileSignature {
			t.Error("the manifest lists its own signature")
		}
	}
	failed := filepath.Join(t.TempDir(), "failed")
	if _, err := reports.WriteEvidenceSigned(failed, in, generatedAt, func([]byte, reports.Manifest) ([]byte, error) {
		return nil, errors.New("no key")
	}); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("signer failure: %v", err)
	}
	if ents, _ := os.ReadDir(failed); len(ents) != 0 {
		t.Errorf("a failed signing left %d files", len(ents))
	}
}

// TestIdentityGapHasItsOwnRow: a gap on one identity (an Access Advisor job
// that did not finish for it) is a row of gaps.csv naming the identity,
// beside the scope's observed facet, and does not mark the scope's facet
// unobserved in the manifest.
func TestIdentityGapHasItsOwnRow(t *testing.T) {
	in := fixture(t)
	var who string
	for _, id := range in.Inventory.Identities {
		if id.Scope == "111111111111" {
			who = id.ID
		}
	}
	facet := nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)
	in.Inventory.Gaps = append(slices.Clone(in.Inventory.Gaps), nhi.Gap{Provider: nhi.AWS, Scope: "111111111111", Identity: who,
		Source: "iam:GetServiceLastAccessedDetails", Kind: nhi.GapTimeout, Detail: "job not finished", Facets: []nhi.Facet{facet}})
	in.Scan.SnapshotHash = ""
	dir, m := writePack(t, in)
	recs := readCSV(t, filepath.Join(dir, reports.FileGaps))
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	found := false
	for _, r := range recs[1:] {
		if r[col["facet"]] == string(facet) && r[col["observed"]] == "false" {
			found = strings.Contains(r[col["why"]], "for identity "+who+" only")
		}
	}
	if who == "" || !found {
		t.Errorf("no row of gaps.csv names the identity %q:\n%v", who, recs)
	}
	for _, s := range m.Scopes {
		if s.ID == "111111111111" && slices.Contains(s.NotObserved, facet) {
			t.Errorf("manifest: one identity's gap marks the scope's %s unobserved", facet)
		}
	}
}
