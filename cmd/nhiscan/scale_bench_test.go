package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// BenchmarkScanOrganisation is field-anchors B10: one scan of 200 AWS
// accounts, 50 GCP projects, an Entra tenant with two subscriptions and a
// GitHub organisation of 2,000 repositories, through the real collectors
// against the fakes with 20 ms of latency on every call, then the analyzer
// and the store: the wall time a security team waits for, and the calls
// each provider answered.
//
//	go test -run '^$' -bench ScanOrganisation -benchtime 1x ./cmd/nhiscan/
func BenchmarkScanOrganisation(b *testing.B) {
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	seeds := orgSeeds{
		aws:   awsfake.Synthetic(200, 100, now),
		azure: azurefake.Demo(now),
		gcp:   gcpfake.Generate(50, 100, 1, now),
		gcpConfig: func(c *gcp.Config) {
			c.Organization = "999000000001"
		},
		github:     githubfake.Large(now, "bigco", 2000, 100, githubfake.NewAppKey()),
		githubOrgs: []string{"bigco"},
		latency:    20 * time.Millisecond,
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return now }, getenv: func(string) string { return "" }}
	a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	a.prog = a.newProgress()
	cat := &catalog.Catalog{Defaults: catalog.DefaultDefaults}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		org, err := a.startOrg(now, seeds, dir)
		if err != nil {
			b.Fatal(err)
		}
		// The asset data names every key's state, so no keys.list call is
		// needed (collectors/gcp's BenchmarkCollectOrg measures the
		// variant where it leaves the state out).
		org.gcp.SetAssetKeyFields(gcpfake.KeyFieldsExplicit)
		st, err := store.Open(context.Background(), filepath.Join(dir, "nhiscan.db"))
		if err != nil {
			b.Fatal(err)
		}
		a.etags.st = st
		b.StartTimer()
		start := time.Now()
		out, err := a.scanOnce(context.Background(), st, cat, now, "bench", a.collectAll(org.collectors))
		wall := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if len(out.inv.Gaps) != 0 {
			b.Fatalf("gaps: %+v", out.inv.Gaps)
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(len(out.inv.Identities)), "identities")
		b.ReportMetric(float64(out.tally.total), "findings")
		b.ReportMetric(float64(org.aws.CallCount("")), "aws-calls")
		b.ReportMetric(float64(org.azure.TotalCalls()), "azure-calls")
		b.ReportMetric(float64(org.gcp.TotalCalls()), "gcp-calls")
		b.ReportMetric(float64(org.github.TotalCalls()), "github-calls")
		st.Close()
		org.Close()
	}
}
