package metrics_test

import (
	"flag"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/metrics"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden")

// TestMetricsGolden pins every metric's name, help, type and labels: the
// alert rules and dashboards depend on them.
func TestMetricsGolden(t *testing.T) {
	m := metrics.New(false)
	m.ScanFinished("complete", 95*time.Second, time.Unix(1796000000, 0))
	m.ScanFinished("partial", 20*time.Second, time.Unix(1796003600, 0))
	m.APICall("aws", "iam:ListUsers", "ok")
	m.APICall("aws", "iam:ListUsers", "ok")
	m.APICall("github", "GET /orgs/{org}/installations", "throttled")
	m.SetLatestScan([]nhi.Gap{
		{Provider: nhi.AWS, Scope: "111111111111", Source: "iam:GetCredentialReport", Facets: []nhi.Facet{"usage:credential-report"}},
		{Provider: nhi.GCP, Scope: "projects/p", Source: "list"},
	}, []nhi.Finding{
		{Family: "dormant", Severity: "high"}, {Family: "dormant", Severity: "high"},
		{Family: "orphaned", Severity: "critical"}, {Family: "unmapped", Severity: "low", Suppressed: true},
	})
	m.SetCampaigns([]metrics.Campaign{{ID: "3", Items: 10, Unanswered: 4, Overdue: 1}})
	m.SetRevocations(map[string]map[string]int{"disable": {"done": 2, "refused": 1}})
	m.JobStarted("nightly-scan")
	m.JobFinished("nightly-scan", "scan", "ok")
	m.JobSkipped("nightly-scan")
	m.Webhook("critical-finding", "sent")
	m.SetGovernance([]metrics.Sample{{Name: "nhiscan_catalog_identities", Help: "Identities by catalog state.",
		Labels: [][2]string{{"provider", "aws"}, {"scope", "111111111111"}, {"state", "governed"}}, Value: 7}})

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	var err error
	body := scrape(t, srv.URL)
	if *update {
		if err = os.WriteFile("testdata/metrics.golden", []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/metrics.golden")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), body); diff != "" {
		t.Errorf("/metrics (-want +got; go test -update to accept):\n%s", diff)
	}
	// Every name the package declares is exposed.
	for _, name := range []string{metrics.ScanDuration, metrics.Scans, metrics.LastCompleteScan, metrics.APICalls, metrics.Gaps,
		metrics.OpenFindings, metrics.CampaignItems, metrics.CampaignOverdue, metrics.CampaignProgress, metrics.Revocations,
		metrics.JobRuns, metrics.JobSkipped, metrics.JobRunning, metrics.WebhookSent} {
		if !strings.Contains(body, "# TYPE "+name+" ") {
			t.Errorf("%s is not exposed", name)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := srvGet(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
