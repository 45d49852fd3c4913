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

// BenchmarkLastAccessedCalls reports the extra calls per account that
// service last accessed data (Access Advisor) costs in each budget mode,
// over 20 synthetic accounts of 500 identities, counted by the fake: one
// job start and one status read per selected identity (the fake completes
// a job by the first read), and two calls per AWS managed policy document
// per account.
//
//	go test -run '^$' -bench LastAccessedCalls -benchtime 1x ./collectors/aws/
func BenchmarkLastAccessedCalls(b *testing.B) {
	const accounts, identities = 20, 500
	seed := awsfake.Synthetic(accounts, identities, now)
	count := func(mode string) (int, int) {
		srv := awsfake.New(seed)
		defer srv.Close()
		c := newCollector(b, srv, func(c *awscol.Config) {
			c.LastAccessed, c.LastAccessedRate, c.LastAccessedPollInterval = mode, 1e6, time.Millisecond
		})
		inv, err := c.Collect(context.Background())
		if err != nil || len(inv.Gaps) != 0 {
			b.Fatalf("%s: err %v, gaps %v", mode, err, inv.Gaps)
		}
		return srv.CallCount(""), srv.CallCount("iam:GenerateServiceLastAccessedDetails")
	}
	for _, mode := range []string{awscol.LastAccessedPrivileged, awscol.LastAccessedAll} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				base, _ := count(awscol.LastAccessedOff)
				with, jobs := count(mode)
				b.ReportMetric(float64(with-base)/accounts, "extra-calls/account")
				b.ReportMetric(float64(jobs)/accounts, "jobs/account")
				b.StartTimer()
			}
		})
	}
}
