package reports_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

// ocsfAttributes are the attribute names OCSF 1.x defines for the objects
// an event uses (events/findings/finding.json and detection_finding.json
// with base_event; objects metadata, product, finding_info, analytic,
// key_value_object, resource_details, user, cloud, account, remediation).
// The test fails on a name outside them: a typo would be silently
// ignored by a SIEM.
var ocsfAttributes = map[string][]string{
	"event": {"activity_id", "activity_name", "category_uid", "category_name", "class_uid", "class_name", "type_uid", "type_name",
		"severity_id", "severity", "status_id", "status", "time", "message", "is_alert", "metadata", "finding_info", "resources",
		"cloud", "remediation", "unmapped"},
	"metadata":     {"version", "product", "uid", "profiles"},
	"product":      {"name", "vendor_name", "version"},
	"finding_info": {"uid", "title", "desc", "types", "analytic", "first_seen_time", "last_seen_time", "created_time", "data_sources", "tags"},
	"analytic":     {"uid", "name", "type_id", "type"},
	"tags":         {"name", "value"},
	"resources":    {"uid", "name", "type", "group", "owner"},
	"owner":        {"name", "email_addr"},
	"cloud":        {"provider", "account"},
	"account":      {"uid"},
	"remediation":  {"desc", "references"},
}

// checkAttributes walks an event's objects (not unmapped) against
// ocsfAttributes.
func checkAttributes(t *testing.T, object string, v map[string]any) {
	t.Helper()
	allowed := ocsfAttributes[object]
	for k, x := range v {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s.%s is not an OCSF attribute", object, k)
			continue
		}
		if k == "unmapped" {
			continue
		}
		switch y := x.(type) {
		case map[string]any:
			checkAttributes(t, k, y)
		case []any:
			for _, z := range y {
				if m, ok := z.(map[string]any); ok {
					checkAttributes(t, k, m)
				}
			}
		}
	}
}

func TestFindingsOCSFGolden(t *testing.T) {
	in := fixture(t)
	var b bytes.Buffer
	n, err := reports.WriteFindingsOCSF(&b, in.Findings, reports.OCSFProduct{Version: "1.0.0-test"}, ts("2026-11-26T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "findings-ocsf.golden", b.Bytes())
	if n != len(in.Findings) {
		t.Errorf("%d events for %d findings", n, len(in.Findings))
	}
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d is not JSON: %v", lines, err)
		}
		checkAttributes(t, "event", ev)
		if ev["class_uid"] != float64(2004) || ev["category_uid"] != float64(2) ||
			ev["type_uid"] != float64(200400)+ev["activity_id"].(float64) {
			t.Errorf("line %d: class %v category %v type %v", lines, ev["class_uid"], ev["category_uid"], ev["type_uid"])
		}
		fi := ev["finding_info"].(map[string]any)
		if fi["uid"] == "" || fi["title"] == "" {
			t.Errorf("line %d: finding_info without uid or title", lines)
		}
	}
	if lines != n {
		t.Errorf("%d lines, %d events", lines, n)
	}
}

func TestOCSFLifecycleAndHostileStrings(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	base := reports.FindingRow{Finding: nhi.Finding{Fingerprint: "f1", RuleID: "dormant.unused", Family: "dormant", Severity: nhi.SevHigh,
		Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:1:AIDA", IdentityName: "evil\u202e\x1b[31m</script>", Title: "t"},
		Status: reports.StatusOpen, FirstSeen: t0, LastSeen: t0}
	for _, c := range []struct {
		mod          func(*reports.FindingRow)
		act, status  float64
		alert        bool
		unmappedKeys string
	}{
		{func(*reports.FindingRow) {}, 1, 1, true, ""},
		{func(r *reports.FindingRow) { r.LastSeen = t0.AddDate(0, 0, 7) }, 2, 1, true, ""},
		{func(r *reports.FindingRow) { r.NotReevaluated = &nhi.Hidden{Facet: "usage:aws"} }, 2, 1, true, "not_reevaluated"},
		{func(r *reports.FindingRow) { r.Status = reports.StatusSuppressed; r.Exception = "x-1" }, 2, 3, false, "exception"},
		{func(r *reports.FindingRow) { r.Status = reports.StatusResolved; r.ResolvedAt = t0.AddDate(0, 0, 8) }, 3, 4, false, ""},
	} {
		r := base
		c.mod(&r)
		var b bytes.Buffer
		if _, err := reports.WriteFindingsOCSF(&b, []reports.FindingRow{r}, reports.OCSFProduct{}, t0); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\u202e\x1b") || strings.Contains(b.String(), "</script>") {
			t.Errorf("raw control or markup in OCSF output: %q", b.String())
		}
		var ev struct {
			ActivityID float64 `json:"activity_id"`
			StatusID   float64 `json:"status_id"`
			IsAlert    bool    `json:"is_alert"`
			Unmapped   struct {
				Nhiscan map[string]any `json:"nhiscan"`
			} `json:"unmapped"`
		}
		if err := json.Unmarshal(b.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ActivityID != c.act || ev.StatusID != c.status || ev.IsAlert != c.alert {
			t.Errorf("%s: activity %v status %v alert %v, want %v %v %v", r.Status, ev.ActivityID, ev.StatusID, ev.IsAlert, c.act, c.status, c.alert)
		}
		if c.unmappedKeys != "" && ev.Unmapped.Nhiscan[c.unmappedKeys] == nil {
			t.Errorf("%s: unmapped lacks %s", r.Status, c.unmappedKeys)
		}
	}
}

// TestEvidencePackWithOCSF: an evidence pack exported with --format ocsf
// lists findings.ocsf.jsonl in its manifest with its row count, and
// verifies; changing the file breaks verification.
func TestEvidencePackWithOCSF(t *testing.T) {
	in := fixture(t)
	in.OCSF = &reports.OCSFProduct{Version: "1.0.0-test"}
	dir := t.TempDir()
	m, err := reports.WriteEvidence(dir, in, ts("2026-11-26T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(m.Files, func(f reports.ManifestFile) bool { return f.Name == reports.FileOCSF })
	if i < 0 || m.Files[i].Rows != len(in.Findings) {
		t.Fatalf("manifest files %+v: want %s with %d rows", m.Files, reports.FileOCSF, len(in.Findings))
	}
	if err := reports.VerifyEvidence(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, reports.FileOCSF)
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.Replace(b, []byte(`"class_uid":2004`), []byte(`"class_uid":2003`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := reports.VerifyEvidence(dir); err == nil {
		t.Error("a changed OCSF file verifies")
	}
}
