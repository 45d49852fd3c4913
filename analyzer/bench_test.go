package analyzer_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/synth"
)

// BenchmarkAnalyze measures the analyzer on a synthetic organisation of 10k
// and 100k identities (about 3 credentials and 10 grants each, 2,000 roles,
// 20,000 people), in two mixes: typical (85% of credentials rotated and used
// this month, grants from the baseline) and worst (uniformly random ages and
// grants: most keys too old, a third of grants outside the baseline, about 7
// findings per identity). Reported: ns/op, cpu-s/op (CPU time of the
// process, the garbage collector's included: the figure a busy machine
// disturbs least), B/op (total allocated), and live-MiB, the heap in use
// with the input and the result alive (the memory a scan needs).
//
//	go test -run '^$' -bench BenchmarkAnalyze -benchtime 3x ./analyzer/
func BenchmarkAnalyze(b *testing.B) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, mix := range []struct {
		name    string
		hygiene int
	}{{"typical", 85}, {"worst", 0}} {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("mix=%s/identities=%d", mix.name, n), func(b *testing.B) {
				p := synth.Default(n, now)
				p.Hygiene = mix.hygiene
				inv, cat := synth.Generate(p)
				prev := inv
				b.ReportAllocs()
				b.ResetTimer()
				var res analyzer.Result
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					res = analyzer.Analyze(analyzer.Input{Inventory: inv, Catalog: cat, Previous: &prev, Now: now})
				}
				b.StopTimer()
				b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
				b.ReportMetric(float64(len(res.Findings)), "findings")
				runtime.KeepAlive(res)
				runtime.KeepAlive(inv)
			})
		}
	}
}
