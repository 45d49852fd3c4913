package config_test

import (
	"errors"
	"os"
	"testing"

	"github.com/nhiscan/nhiscan/internal/config"
)

// FuzzLoad feeds arbitrary bytes to the loader. It must never panic, and
// must return either a configuration or *config.Errors whose every entry
// names the file. Plain `go test` runs only the seeds; run
// `go test -fuzz FuzzLoad ./internal/config` to search.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/full.yaml", "testdata/many.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("providers: &p {aws: *p}\n"))
	f.Add([]byte("a: &a [1]\nb: &b [*a, *a]\ncatalog: [*b, *b]\n"))
	f.Add([]byte("providers: { <<: *x }\n"))
	f.Add([]byte("providers:\n  github:\n    organizations: [a]\n    app_id: 99999999999999999999999\n"))
	f.Add([]byte("--- \n---\n"))
	f.Add([]byte("concurrency: !!binary AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("f.yaml", data, nil)
		if err == nil {
			if cfg.LogFormat == "" || cfg.Database == "" {
				t.Fatalf("nil error but config %+v", cfg)
			}
			return
		}
		var es *config.Errors
		if !errors.As(err, &es) {
			t.Fatalf("error %T is not *config.Errors: %v", err, err)
		}
		if len(*es) == 0 {
			t.Fatal("empty *config.Errors")
		}
		for _, e := range *es {
			if e.File != "f.yaml" {
				t.Fatalf("error names file %q: %v", e.File, e)
			}
			if e.Line < 0 || e.Col < 0 || (e.Line == 0) != (e.Col == 0) {
				t.Fatalf("bad position: %v", e)
			}
		}
	})
}
