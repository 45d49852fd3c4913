package store_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/benchmem"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/synth"
)

// BenchmarkAnalyseAndStore measures a scan's last two steps end to end on
// SQLite, a first scan of a synthetic organisation: the analysis and
// FinishScan with the findings in one slice ("collected"), against the
// analysis handing them to BeginFindings as it makes them ("streamed", what
// nhiscan scan does). Reported besides ns/op: MiB-peak, the largest heap
// in use sampled every 10 ms (input included), input-MiB, and findings.
//
//	go test -run '^$' -bench BenchmarkAnalyseAndStore -benchtime 1x -timeout 30m ./internal/store/
func BenchmarkAnalyseAndStore(b *testing.B) {
	benchAnalyseAndStore(b, 100_000, []bool{false, true})
}

// BenchmarkAnalyseAndStore1M is BenchmarkAnalyseAndStore for a million
// identities, streamed only (held, the worst mix needs about 50 GiB). It
// takes several minutes and tens of GB of disk, so it runs only when its
// name is asked for:
//
//	GOMAXPROCS=2 go test -run '^$' -bench BenchmarkAnalyseAndStore1M -benchtime 1x -timeout 60m ./internal/store/
func BenchmarkAnalyseAndStore1M(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "BenchmarkAnalyseAndStore1M") {
		b.Skip("run with -bench BenchmarkAnalyseAndStore1M")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("NHISCAN_BENCH_IDENTITIES")); err == nil && v > 0 {
		n = v // a smaller organisation, to see how the figures grow
	}
	benchAnalyseAndStore(b, n, []bool{true})
}

func benchAnalyseAndStore(b *testing.B, n int, modes []bool) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, mix := range []struct {
		name    string
		hygiene int
	}{{"typical", 85}, {"worst", 0}} {
		b.Run(mix.name, func(b *testing.B) {
			p := synth.Default(n, now)
			p.Hygiene = mix.hygiene
			inv, cat := synth.Generate(p)
			in := analyzer.Input{Inventory: inv, Catalog: cat, Now: now}
			for _, streamed := range modes {
				b.Run(map[bool]string{false: "collected", true: "streamed"}[streamed], func(b *testing.B) {
					analyseAndStore(b, in, streamed)
				})
			}
		})
	}
}

func analyseAndStore(b *testing.B, in analyzer.Input, streamed bool) {
	ctx := context.Background()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	input := ms.HeapAlloc
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := openAt(b, filepath.Join(b.TempDir(), "bench.db"), &clock{t: in.Now})
		id := mustBegin(b, st, in.Now)
		runtime.GC()
		b.StartTimer()
		stop := benchmem.Peak()
		n := 0
		fin := store.FinishInput{Ended: in.Now, Inventory: in.Inventory}
		if streamed {
			fw, err := st.BeginFindings(ctx, id, &in.Inventory, analyzer.Lifecycle)
			if err != nil {
				b.Fatal(err)
			}
			in := in
			in.Findings = func(fs []nhi.Finding) {
				n += len(fs)
				if err := fw.Add(fs); err != nil {
					b.Fatal(err)
				}
			}
			res := analyzer.Analyze(in)
			fin.Written, fin.Ownership, fin.Lifecycle = fw, res.Ownership, res.Lifecycle
		} else {
			res := analyzer.Analyze(in)
			n = len(res.Findings)
			fin.Findings, fin.Ownership, fin.Lifecycle = res.Findings, res.Ownership, res.Lifecycle
		}
		if err := st.FinishScan(ctx, id, fin); err != nil {
			b.Fatal(err)
		}
		fin = store.FinishInput{}
		b.ReportMetric(float64(stop())/(1<<20), "MiB-peak")
		b.StopTimer()
		st.Close()
		b.ReportMetric(float64(n), "findings")
		b.StartTimer()
	}
	b.ReportMetric(float64(input)/(1<<20), "input-MiB")
}
