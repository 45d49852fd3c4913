package github_test

import (
	"context"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
)

// BenchmarkCollect10kRepos scans one organisation of 10,000 repositories,
// 500 of them with a deploy key, with 20 ms of latency injected into every
// call, at the default concurrency of 10: first a cold scan, then a rescan
// with the ETag cache warm and nothing changed.
//
//	go test -run '^$' -bench Collect10k -benchtime 1x ./collectors/github/
func BenchmarkCollect10kRepos(b *testing.B) {
	const R, K = 10_000, 500
	for _, mode := range []string{"first-scan", "rescan-304"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := newSetup(b, githubfake.Large(fixedNow, "bigco", R, K, testAppKey()))
				s.cfg.TokenFile, s.cfg.SkipSAMLAuthorizations = "", true
				s.cfg.Cache = &memCache{}
				c := s.collector(b)
				if mode == "rescan-304" {
					if _, err := c.Collect(context.Background()); err != nil {
						b.Fatal(err)
					}
					s.srv.ResetCalls()
				}
				s.srv.SetLatency(20 * time.Millisecond)
				b.StartTimer()
				start := time.Now()
				inv, err := c.Collect(context.Background())
				wall := time.Since(start)
				b.StopTimer()
				if err != nil || len(inv.Gaps) != 0 {
					b.Fatalf("collect: %v, gaps %+v", err, inv.Gaps)
				}
				notMod := 0
				for _, n := range s.srv.NotModified() {
					notMod += n
				}
				b.ReportMetric(float64(s.srv.TotalCalls()), "calls")
				b.ReportMetric(float64(notMod), "304s")
				b.ReportMetric(float64(s.srv.CallCount(githubfake.OpGraphQL)), "graphql")
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(float64(len(inv.Identities)), "identities")
				b.StartTimer()
			}
		})
	}
}
