package catalog_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Large catalogs (issue 12): 100,000 roles, and 200,000 people inline in
// YAML or in an HR CSV, must load in seconds. BENCHMARKS.md has the
// figures and the command.

// writeLarge writes a catalog directory and returns it and its size.
func writeLarge(b *testing.B, roles, yamlPeople, csvPeople int) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	owners := max(min(roles/20, 5_000), 1)
	var s strings.Builder
	if yamlPeople > 0 || roles > 0 {
		s.WriteString("people:\n")
		for i := range max(yamlPeople, owners) {
			fmt.Fprintf(&s, "  - { id: person%d@acme.example, name: Person %d, status: active, team: team-%d }\n", i, i, i%300)
		}
	}
	if csvPeople > 0 {
		s.WriteString("people_csv: hr.csv\n")
		var c strings.Builder
		c.WriteString("email,name,status,departed_on,manager_email,team,github_login\n")
		for i := range csvPeople {
			fmt.Fprintf(&c, "staff%d@acme.example,Staff %d,active,,,team-%d,staff-%d\n", i, i, i%300, i)
		}
		write(b, filepath.Join(dir, "hr.csv"), c.String())
	}
	write(b, filepath.Join(dir, "people.yaml"), s.String())
	if roles > 0 {
		var r strings.Builder
		r.WriteString("roles:\n")
		for i := range roles {
			fmt.Fprintf(&r, "  - id: role-%d\n    purpose: Deploys service %d\n    business_owner: person%d@acme.example\n    team: team-%d\n"+
				"    allowed:\n      - { provider: aws, entitlement: \"arn:aws:iam::aws:policy/Policy%d\" }\n"+
				"    members:\n      - { provider: aws, kind: aws-iam-role, name: \"svc-%d-*\" }\n", i, i, i%owners, i%300, i%50, i)
		}
		write(b, filepath.Join(dir, "roles.yaml"), r.String())
	}
	var size int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, _ := e.Info()
		size += fi.Size()
	}
	return dir, size
}

func write(b *testing.B, p, s string) {
	b.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkLoadLargeCatalog(b *testing.B) {
	for _, bc := range []struct {
		name                         string
		roles, yamlPeople, csvPeople int
	}{
		{"roles=100000", 100_000, 0, 0},
		{"people=200000/yaml", 0, 200_000, 0},
		{"people=200000/csv", 0, 0, 200_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir, size := writeLarge(b, bc.roles, bc.yamlPeople, bc.csvPeople)
			stop := peakHeap()
			cpu := cpuTime()
			b.ResetTimer()
			for range b.N {
				c, err := catalog.Load(evalTime, dir)
				if err != nil {
					b.Fatal(err)
				}
				if len(c.Roles) != bc.roles || len(c.People) < bc.yamlPeople+bc.csvPeople {
					b.Fatalf("%d roles, %d people", len(c.Roles), len(c.People))
				}
			}
			b.StopTimer()
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(size)/1e6, "file-MB")
		})
	}
}
