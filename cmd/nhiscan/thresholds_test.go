package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestCLIThresholdOverrides: the configuration's thresholds replace the
// catalog's defaults, and NHISCAN_THRESHOLDS_* replaces the file.
func TestCLIThresholdOverrides(t *testing.T) {
	// scan1.json: AIDADAN and its key were last used 2026-06-01, 171 days
	// before 2026-11-19; the catalog says dormant after 90 days.
	dormant := func(t *testing.T, cfgText string, env map[string]string) []string {
		t.Helper()
		c := newCLI(t)
		for k, v := range env {
			c.env[k] = v
		}
		cfg := filepath.Join(c.dir, "nhiscan.yaml")
		writeFile(t, cfg, "database: nhiscan.db\ncatalog: ["+testdata("catalog.yaml")+"]\n"+cfgText)
		if code, out, errs := c.run("scan", "--config", cfg, "--inventory", testdata("scan1.json"), "--as-of", "2026-11-19"); code != exitOK {
			t.Fatalf("scan = %d\n%s%s", code, out, errs)
		}
		code, out, errs := c.run("findings", "--config", cfg, "--family", "dormant", "--format", "json")
		if code != exitOK {
			t.Fatalf("findings = %d\n%s", code, errs)
		}
		var rows []struct {
			RuleID     string `json:"rule_id"`
			IdentityID string `json:"identity_id"`
		}
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			if r.IdentityID == "aws:AIDADAN" {
				got = append(got, r.RuleID)
			}
		}
		return got
	}
	if got := dormant(t, "", nil); len(got) == 0 {
		t.Fatal("no dormant finding on AIDADAN with the catalog's 90 days: the test's premise is wrong")
	}
	if got := dormant(t, "thresholds: { dormant_after: 200d }\n", nil); len(got) != 0 {
		t.Errorf("dormant_after: 200d in the configuration not applied: %v", got)
	}
	if got := dormant(t, "thresholds: { dormant_after: 200d }\n", map[string]string{"NHISCAN_THRESHOLDS_DORMANT_AFTER": "30d"}); len(got) == 0 {
		t.Error("NHISCAN_THRESHOLDS_DORMANT_AFTER=30d did not override the file's 200d")
	}
}
