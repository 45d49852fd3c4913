package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/fleet"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// BenchmarkFleetScan measures one scan from enqueue to finalisation on
// PostgreSQL: scopes whose collection takes latency each (the provider's
// calls), shared by replicas running 4 jobs each. With zero latency it is
// River's and the fleet's own cost per scope (insert, fetch, part upsert
// under the scan's row lock, merge).
func BenchmarkFleetScan(b *testing.B) {
	for _, c := range []struct {
		scopes, replicas int
		latency          time.Duration
	}{
		{60, 1, 250 * time.Millisecond},
		{60, 3, 250 * time.Millisecond},
		{500, 3, 0},
	} {
		b.Run(fmt.Sprintf("scopes=%d/replicas=%d/latency=%s", c.scopes, c.replicas, c.latency), func(b *testing.B) {
			var names []string
			for i := range c.scopes {
				names = append(names, fmt.Sprintf("org-%04d", i))
			}
			o := newOrg(names...)
			_, fs := cluster(b, o, c.replicas, func(cfg *fleet.Config) {
				cfg.Concurrency = 4
				cfg.Logger = nil
				collect := cfg.Collect
				cfg.Collect = func(ctx context.Context, s fleet.Scope) (nhi.Inventory, error) {
					time.Sleep(c.latency)
					return collect(ctx, s)
				}
			})
			b.ResetTimer()
			for b.Loop() {
				id, err := fs[0].Enqueue(context.Background(), "")
				if err != nil {
					b.Fatal(err)
				}
				if s := wait(b, fs[0], id); s.State != fleet.StateFinalized || s.Parts != c.scopes {
					b.Fatalf("scan %+v", s)
				}
			}
			b.ReportMetric(float64(c.scopes)*float64(b.N)/b.Elapsed().Seconds(), "scopes/s")
		})
	}
}
