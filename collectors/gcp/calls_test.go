package gcp_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
)

// TestCallsObserved: Config.Calls hears each call the fake counts, named
// by method and path with the identifiers replaced; with the SDK's own
// authenticated transport too (no HTTPClient given).
func TestCallsObserved(t *testing.T) {
	srv := demo(t)
	var mu sync.Mutex
	got := map[string]int{}
	total := 0
	c := collector(t, srv, func(cfg *gcp.Config) {
		cfg.Calls = func(c collectors.Call) {
			mu.Lock()
			defer mu.Unlock()
			got[c.Operation]++
			total++
		}
	})
	if _, err := c.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if total != srv.TotalCalls() || total == 0 {
		t.Errorf("observed %d calls, the fake counted %d: %v", total, srv.TotalCalls(), got)
	}
	for op := range got {
		if strings.Contains(op, "@") || strings.Contains(op, gcpfake.DemoOrganization) {
			t.Errorf("operation %q keeps an identifier", op)
		}
	}
	// Without an HTTP client the SDK builds its authenticated transport
	// over the observed one.
	if _, err := gcp.New(gcp.Config{Organization: gcpfake.DemoOrganization, Endpoint: srv.URL, NoAuth: true,
		Calls: func(collectors.Call) {}}); err != nil {
		t.Errorf("New with Calls and the SDK's transport: %v", err)
	}
}
