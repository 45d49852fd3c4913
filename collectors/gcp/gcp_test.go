package gcp_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-inventory.json")

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func demo(t testing.TB) *gcpfake.Server {
	t.Helper()
	srv := gcpfake.New(gcpfake.Demo(now))
	t.Cleanup(srv.Close)
	return srv
}

func collector(t testing.TB, srv *gcpfake.Server, mod ...func(*gcp.Config)) *gcp.Collector {
	t.Helper()
	cfg := gcp.Config{
		Organization: gcpfake.DemoOrganization, Endpoint: srv.URL, HTTPClient: srv.Client(),
		OwnerLabelDomain: gcpfake.DemoOwnerLabelDomain, DelegatedClientIDs: gcpfake.DemoDelegatedClientIDs,
		Now: func() time.Time { return now }, RetryBaseDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := gcp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func collect(t testing.TB, c *gcp.Collector) nhi.Inventory {
	t.Helper()
	inv, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if err := inv.Validate(); err != nil {
		t.Fatalf("invalid inventory: %v", err)
	}
	return inv
}

func encode(t testing.TB, inv nhi.Inventory) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenInventory(t *testing.T) {
	inv := collect(t, collector(t, demo(t)))
	got := encode(t, inv)
	path := filepath.Join("testdata", "golden-inventory.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("inventory differs from %s; rerun with -update and review the diff", path)
	}
}
