package azure_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
)

// TestCallsObserved: Config.Calls hears each call the fake counts, named
// by method and path with the identifiers replaced.
func TestCallsObserved(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	var mu sync.Mutex
	got := map[string]int{}
	total := 0
	c := newCollector(t, f, func(cfg *azure.Config) {
		cfg.Calls = func(c collectors.Call) {
			mu.Lock()
			defer mu.Unlock()
			if c.Provider != "azure" {
				t.Errorf("call %+v", c)
			}
			got[c.Operation+" "+c.Status]++
			total++
		}
	})
	if _, err := c.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if total != f.TotalCalls() || total == 0 {
		t.Errorf("observed %d calls, the fake counted %d: %v", total, f.TotalCalls(), got)
	}
	for op := range got {
		if strings.Contains(op, f.TenantID()) || strings.Contains(op, "acme") {
			t.Errorf("operation %q keeps an identifier", op)
		}
	}
	if got["GET /v1.0/servicePrincipals ok"] == 0 {
		t.Errorf("no service principal listing among %v", got)
	}
}
