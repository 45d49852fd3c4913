package analyzer_test

import (
	"flag"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/benchmem"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/synth"
)

// BenchmarkAnalyze1M measures the analyzer on a synthetic organisation of
// 1,000,000 identities in the typical and worst mixes (see
// BenchmarkAnalyze). Generating the organisation takes about as long as
// analysing it and needs a few GiB, so the benchmark runs only when its
// name is asked for:
//
//	GOMAXPROCS=2 go test -run '^$' -bench 'BenchmarkAnalyze1M' -benchtime 1x -timeout 30m ./analyzer/
//
// Reported besides ns/op: cpu-s/op, the CPU time of the process (user and
// system, the garbage collector's included) during the analysis; MiB-peak, the largest heap in use sampled every
// 10 milliseconds during the analysis (input, result and garbage not yet
// collected: the memory the analysis needs of the process); live-MiB, the
// heap live after the analysis with the input and the result alive;
// input-MiB, the live heap of the input alone; and findings.
func BenchmarkAnalyze1M(b *testing.B) {
	if os.Getenv("NHISCAN_BENCH_1M") == "" && !benchNamed("BenchmarkAnalyze1M") {
		b.Skip("run with -bench BenchmarkAnalyze1M")
	}
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, mix := range []struct {
		name    string
		hygiene int
	}{{"typical", 85}, {"worst", 0}} {
		b.Run(mix.name, func(b *testing.B) {
			p := synth.Default(1_000_000, now)
			p.Hygiene = mix.hygiene
			inv, cat := synth.Generate(p)
			prev := inv
			in := analyzer.Input{Inventory: inv, Catalog: cat, Previous: &prev, Now: now}
			for _, streamed := range []bool{false, true} {
				b.Run(map[bool]string{false: "collected", true: "streamed"}[streamed], func(b *testing.B) {
					analyze1M(b, in, streamed)
				})
			}
		})
	}
}

// analyze1M runs one analysis per iteration. Collected, the findings are
// returned in Result.Findings and held; streamed, they are handed on a
// unit at a time (Input.Findings) to a consumer that tallies them by
// severity, as the scan summary does, and keeps none.
func analyze1M(b *testing.B, in analyzer.Input, streamed bool) {
	input := liveHeap()
	var (
		res     analyzer.Result
		n       int
		bySev   = map[nhi.Severity]int{}
		consume = func(fs []nhi.Finding) {
			n += len(fs)
			for i := range fs {
				bySev[fs[i].Severity]++
			}
		}
	)
	if streamed {
		in.Findings = consume
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, n = analyzer.Result{}, 0 // the previous result is not part of this analysis
		stop, cpu := benchmem.Peak(), cpuTime()
		res = analyzer.Analyze(in)
		b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s/op")
		b.ReportMetric(float64(stop())/(1<<20), "MiB-peak")
	}
	b.StopTimer()
	b.ReportMetric(float64(liveHeap())/(1<<20), "live-MiB")
	b.ReportMetric(float64(input)/(1<<20), "input-MiB")
	b.ReportMetric(float64(len(res.Findings)+n), "findings")
	runtime.KeepAlive(res)
	runtime.KeepAlive(in)
}

// benchNamed reports whether the -bench pattern names the benchmark
// literally, so a plain -bench . does not start a run of several minutes.
func benchNamed(name string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), name)
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// liveHeap collects garbage and returns the bytes of heap objects left.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
