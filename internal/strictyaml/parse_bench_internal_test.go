package strictyaml

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse compares the two paths on the roles file of the catalog
// benchmark (rules/catalog BenchmarkLoadLargeCatalog): the fast path
// (yaml/v3 rebuilt as goccy's AST, fastparse.go) and goccy's scanner and
// parser with the limiter, which every file took before. Both run in one
// process, alternately with -count, so a loaded machine slows both alike.
func BenchmarkParse(b *testing.B) {
	var r strings.Builder
	r.WriteString("roles:\n")
	for i := range 20_000 {
		fmt.Fprintf(&r, "  - id: role-%d\n    purpose: Deploys service %d\n    business_owner: person%d@acme.example\n    team: team-%d\n"+
			"    allowed:\n      - { provider: aws, entitlement: \"arn:aws:iam::aws:policy/Policy%d\" }\n"+
			"    members:\n      - { provider: aws, kind: aws-iam-role, name: \"svc-%d-*\" }\n", i, i, i%1000, i%300, i%50, i)
	}
	text := []byte(r.String())
	b.Run("roles=20000/fast", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for range b.N {
			if _, ok := fastParse(text, DefaultLimits); !ok {
				b.Fatal("the fast path refused the file")
			}
		}
	})
	b.Run("roles=20000/goccy", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for range b.N {
			var errs List
			if exactParse("f", text, DefaultLimits, &errs) == nil {
				b.Fatal(errs.Errs)
			}
		}
	})
}
