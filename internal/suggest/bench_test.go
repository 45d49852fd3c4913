package suggest_test

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/suggest"
	"github.com/nhiscan/nhiscan/internal/synth"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// BenchmarkSuggestAndCoverage is issue 19's scale bar: on the planted
// organisation of 100,000 identities (3,000 planted roles, the default
// noise), one iteration drafts the catalog (suggest: grouping and the
// YAML), loads the draft with its people as a catalog (load), and measures
// governance coverage with it (coverage). Each phase is reported in wall
// seconds (-s) and in CPU seconds of the process (-cpu-s, garbage
// collection included), which a busy machine does not inflate.
//
// It runs with 20 scopes in all (150 roles side by side in each, the
// quality test's density) and with 200 (as the analyzer's benchmark).
//
//	go test -run '^$' -bench SuggestAndCoverage -benchtime 3x ./internal/suggest/
func BenchmarkSuggestAndCoverage(b *testing.B) {
	for _, scopes := range []int{5, 50} {
		b.Run(fmt.Sprintf("scopes=%d", 4*scopes), func(b *testing.B) {
			p := synth.DefaultPlanted(100_000, 3000, qualityNow)
			p.ScopesPerProvider = scopes
			benchSuggestAndCoverage(b, synth.GeneratePlanted(p))
		})
	}
}

func benchSuggestAndCoverage(b *testing.B, pl synth.Planted) {
	people := peopleCSV(b, pl.People)
	var phases, cpu [3]time.Duration
	var roles int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0, c0 := time.Now(), cpuTime()
		d := suggest.Suggest(&pl.Inventory, suggest.Options{People: pl.People, Now: qualityNow, PeopleFiles: []string{"people.csv"}})
		var y bytes.Buffer
		if err := d.WriteYAML(&y); err != nil {
			b.Fatal(err)
		}
		t1, c1 := time.Now(), cpuTime()
		cat, err := catalog.LoadFS(fstest.MapFS{"draft.yaml": {Data: y.Bytes()}, "people.csv": {Data: people}}, qualityNow, "draft.yaml")
		if err != nil {
			b.Fatal(err)
		}
		t2, c2 := time.Now(), cpuTime()
		g := analyzer.MeasureGovernance(&pl.Inventory, cat, qualityNow)
		t3, c3 := time.Now(), cpuTime()
		for i, d := range [][2]time.Duration{{t1.Sub(t0), c1 - c0}, {t2.Sub(t1), c2 - c1}, {t3.Sub(t2), c3 - c2}} {
			phases[i] += d[0]
			cpu[i] += d[1]
		}
		roles = len(d.Roles)
		runtime.KeepAlive(g)
	}
	b.StopTimer()
	n := float64(b.N)
	for i, name := range []string{"suggest", "load", "coverage"} {
		b.ReportMetric(phases[i].Seconds()/n, name+"-s")
		b.ReportMetric(cpu[i].Seconds()/n, name+"-cpu-s")
	}
	b.ReportMetric(float64(roles), "roles")
}
