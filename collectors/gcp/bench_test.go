package gcp_test

import (
	"context"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
)

// BenchmarkCollectOrg scans an organisation of 500 projects × 100 service
// accounts (one user-managed key each) with 20 ms of injected latency per
// call. Run: go test -run '^$' -bench CollectOrg -benchtime 1x ./collectors/gcp/
func BenchmarkCollectOrg(b *testing.B) {
	srv := gcpfake.New(gcpfake.Generate(500, 100, 1, now))
	b.Cleanup(srv.Close)
	srv.SetLatency(20 * time.Millisecond)
	c := collector(b, srv, func(c *gcp.Config) { c.Organization = "999000000001"; c.DelegatedClientIDs = nil })
	b.ResetTimer()
	for b.Loop() {
		srv.ResetCalls()
		inv, err := c.Collect(context.Background())
		if err != nil || len(inv.Identities) != 50000 || len(inv.Gaps) != 0 {
			b.Fatalf("err %v, %d identities, %d gaps", err, len(inv.Identities), len(inv.Gaps))
		}
	}
	b.ReportMetric(float64(srv.TotalCalls()), "calls/scan")
	b.ReportMetric(float64(srv.CallCount(gcpfake.OpListAssets)), "asset-pages/scan")
}
