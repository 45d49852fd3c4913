package strictyaml_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// BenchmarkRefuse measures how long a hostile file takes to be refused
// (issue 12: 100,000 nested brackets took goccy's parser 52 s and 14.7 GB,
// 50,000 nested mappings 5 GB, a file of 40,000 keys 7.5 s).
func BenchmarkRefuse(b *testing.B) {
	var keys strings.Builder
	for i := range 40_000 {
		fmt.Fprintf(&keys, "k%d: v\n", i)
	}
	for _, bc := range []struct{ name, src, want string }{
		{"brackets=100000", "roles: " + strings.Repeat("[", 100_000), "nesting limit"},
		{"mappings=50000", "roles: " + strings.Repeat("{a: ", 50_000), "nesting limit"},
		{"keys=40000", keys.String(), "limit for a mapping"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.src)
			b.ReportMetric(float64(len(data))/1e3, "kB")
			for range b.N {
				var d doc
				errs := strictyaml.Decode("f.yaml", data, &d)
				if len(errs) != 1 || !strings.Contains(errs[0].Msg, bc.want) {
					b.Fatal(errs)
				}
			}
		})
	}
}
