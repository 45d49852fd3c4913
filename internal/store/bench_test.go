package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// benchFindings builds n distinct findings spread over providers, rules and
// severities.
func benchFindings(n int) []nhi.Finding {
	rules := []string{"dormant", "long-lived-key", "orphaned", "over-privileged", "unmapped"}
	fs := make([]nhi.Finding, n)
	for i := range fs {
		native := fmt.Sprintf("AIDA%08d", i/3)
		f := finding(rules[i%len(rules)], nhi.AWS, fmt.Sprintf("%012d", i%50), native, nhi.Severities[i%len(nhi.Severities)])
		f.CredentialID = fmt.Sprintf("AKIA%08d", i)
		f.Fingerprint = nhi.Fingerprint(f.RuleID, f.IdentityID, f.CredentialID, "")
		fs[i] = f
	}
	return fs
}

// BenchmarkFinishScan measures FinishScan with 100,000 findings: "new" into
// an empty database (every finding inserted), "seen-again" on a database that
// already holds them (every finding updated).
func BenchmarkFinishScan(b *testing.B) {
	const n = 100_000
	fs := benchFindings(n)
	inv := inventory()
	ctx := context.Background()
	b.Run("new", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			c := &clock{t: t0}
			st := openAt(b, filepath.Join(b.TempDir(), "bench.db"), c)
			id := mustBegin(b, st, t0)
			b.StartTimer()
			if err := st.FinishScan(ctx, id, store.FinishInput{Ended: t0, Inventory: inv, Findings: fs, Lifecycle: analyzer.Lifecycle}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			st.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/finding")
	})
	b.Run("seen-again", func(b *testing.B) {
		c := &clock{t: t0}
		st := openAt(b, filepath.Join(b.TempDir(), "bench.db"), c)
		id := mustBegin(b, st, t0)
		mustFinish(b, st, id, t0, inv, fs)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			at := t0.Add(time.Duration(i+1) * time.Hour)
			id := mustBegin(b, st, at)
			b.StartTimer()
			if err := st.FinishScan(ctx, id, store.FinishInput{Ended: at, Inventory: inv, Findings: fs, Lifecycle: analyzer.Lifecycle}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/finding")
	})
}
