package aws_test

import (
	"context"
	"testing"
	"time"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
)

// BenchmarkCollectOrganization scans 200 accounts of 500 identities with
// 20 ms of injected latency per call at the default concurrency, and
// reports the wall time against the floor calls × latency ÷ concurrency.
//
//	go test -run '^$' -bench CollectOrganization -benchtime 1x ./collectors/aws/
func BenchmarkCollectOrganization(b *testing.B) {
	const (
		accounts   = 200
		identities = 500
		latency    = 20 * time.Millisecond
	)
	seed := awsfake.Synthetic(accounts, identities, now)
	for b.Loop() {
		b.StopTimer()
		srv := awsfake.New(seed)
		srv.SetLatency(latency)
		c := newCollector(b, srv, func(c *awscol.Config) { c.Concurrency = 0 })
		b.StartTimer()
		start := time.Now()
		inv, err := c.Collect(context.Background())
		wall := time.Since(start)
		b.StopTimer()
		if err != nil || len(inv.Gaps) != 0 || len(inv.Identities) != accounts*identities {
			b.Fatalf("err %v, gaps %d, identities %d", err, len(inv.Gaps), len(inv.Identities))
		}
		calls := srv.CallCount("")
		floor := time.Duration(calls) * latency / awscol.DefaultConcurrency
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(float64(len(inv.Identities)), "identities")
		srv.Close()
		b.StartTimer()
	}
}
