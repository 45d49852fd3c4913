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
// call, the asset data naming every key's state. Run:
// go test -run '^$' -bench CollectOrg -benchtime 1x ./collectors/gcp/
func BenchmarkCollectOrg(b *testing.B) {
	benchmarkOrg(b, gcpfake.KeyFieldsExplicit)
}

// BenchmarkCollectOrgKeyState is the same scan with the asset data
// rendering keys as IAM's JSON does (an enabled key has no "disabled"),
// so that every account's key state is read through keys.list, within the
// default budget: the accounts beyond it keep an unknown state and their
// projects a gap.
func BenchmarkCollectOrgKeyState(b *testing.B) {
	benchmarkOrg(b, gcpfake.KeyFieldsAsIAM)
}

func benchmarkOrg(b *testing.B, fields gcpfake.AssetKeyFields) {
	srv := gcpfake.New(gcpfake.Generate(500, 100, 1, now))
	b.Cleanup(srv.Close)
	srv.SetLatency(20 * time.Millisecond)
	srv.SetAssetKeyFields(fields)
	c := collector(b, srv, func(c *gcp.Config) { c.Organization = "999000000001"; c.DelegatedClientIDs = nil })
	gaps := 0
	b.ResetTimer()
	for b.Loop() {
		srv.ResetCalls()
		inv, err := c.Collect(context.Background())
		if err != nil || len(inv.Identities) != 50000 || (fields == gcpfake.KeyFieldsExplicit && len(inv.Gaps) != 0) {
			b.Fatalf("err %v, %d identities, %d gaps", err, len(inv.Identities), len(inv.Gaps))
		}
		gaps = len(inv.Gaps)
	}
	b.ReportMetric(float64(srv.TotalCalls()), "calls/scan")
	b.ReportMetric(float64(srv.CallCount(gcpfake.OpListAssets)), "asset-pages/scan")
	b.ReportMetric(float64(srv.CallCount(gcpfake.OpListKeys)), "keys.list/scan")
	b.ReportMetric(float64(gaps), "gaps/scan")
}
