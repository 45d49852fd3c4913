package suggest_test

import (
	"bytes"
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
// noise), one iteration drafts the catalog (suggest-s: grouping and the
// YAML), loads the draft with its people as a catalog (load-s), and
// measures governance coverage with it (coverage-s).
//
//	go test -run '^$' -bench SuggestAndCoverage -benchtime 3x ./internal/suggest/
func BenchmarkSuggestAndCoverage(b *testing.B) {
	pl := synth.GeneratePlanted(synth.DefaultPlanted(100_000, 3000, qualityNow))
	people := peopleCSV(b, pl.People)
	var phases [3]time.Duration
	var roles int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		d := suggest.Suggest(&pl.Inventory, suggest.Options{People: pl.People, Now: qualityNow, PeopleFiles: []string{"people.csv"}})
		var y bytes.Buffer
		if err := d.WriteYAML(&y); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		cat, err := catalog.LoadFS(fstest.MapFS{"draft.yaml": {Data: y.Bytes()}, "people.csv": {Data: people}}, qualityNow, "draft.yaml")
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		g := analyzer.MeasureGovernance(&pl.Inventory, cat, qualityNow)
		t3 := time.Now()
		phases[0] += t1.Sub(t0)
		phases[1] += t2.Sub(t1)
		phases[2] += t3.Sub(t2)
		roles = len(d.Roles)
		runtime.KeepAlive(g)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(phases[0].Seconds()/n, "suggest-s")
	b.ReportMetric(phases[1].Seconds()/n, "load-s")
	b.ReportMetric(phases[2].Seconds()/n, "coverage-s")
	b.ReportMetric(float64(roles), "roles")
}
