package azure_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-inventory.json")

// fixedNow is the clock of every test scan.
var fixedNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// graphReadOps are the Microsoft Graph operations a scan calls.
var graphReadOps = []string{
	azurefake.OpApplicationsList, azurefake.OpFICList, azurefake.OpApplicationOwners,
	azurefake.OpServicePrincipalsList, azurefake.OpServicePrincipalOwners, azurefake.OpAppRoleAssignedTo,
	azurefake.OpUsersList, azurefake.OpDirectoryRoleDefinitions, azurefake.OpDirectoryRoleAssignments,
	azurefake.OpSPSignInActivities, azurefake.OpCredentialSignInActivities, azurefake.OpOAuth2PermissionGrantsList,
	azurefake.OpDirectoryRoleEligibilities, azurefake.OpGroupsList, azurefake.OpGroupMembers,
}

func newFake(t testing.TB, seed azurefake.Seed) *azurefake.Server {
	t.Helper()
	f := azurefake.New(seed)
	t.Cleanup(f.Close)
	return f
}

func newCollector(t testing.TB, f *azurefake.Server, mod ...func(*azure.Config)) *azure.Collector {
	t.Helper()
	cfg := azure.Config{
		TenantID: f.TenantID(), TenantName: "acme.example",
		GraphURL: f.URL, ResourceManagerURL: f.URL,
		Credential: f.Credential(), HTTPClient: f.Client(),
		Now: func() time.Time { return fixedNow },
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := azure.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newControls builds the credential controls against the fake, with the
// same configuration as newCollector.
func newControls(t testing.TB, f *azurefake.Server) *azure.Controls {
	t.Helper()
	c, err := azure.NewControls(azure.Config{
		TenantID: f.TenantID(), GraphURL: f.URL, ResourceManagerURL: f.URL,
		Credential: f.Credential(), HTTPClient: f.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func byName(t testing.TB, inv nhi.Inventory, name string) nhi.Identity {
	t.Helper()
	for _, id := range inv.Identities {
		if id.Name == name {
			return id
		}
	}
	t.Fatalf("no identity named %q", name)
	return nhi.Identity{}
}

func TestConformance(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	probe := azurefake.New(seed)
	secrets := probe.Secrets()
	probe.Close()
	if len(secrets) == 0 {
		t.Fatal("demo seed holds no secret values to check for leaks")
	}
	collectortest.Run(t, collectortest.Subject{
		New: func(t *testing.T) collectors.Collector {
			return newCollector(t, newFake(t, seed))
		},
		Deny: func(t *testing.T) (collectors.Collector, string) {
			f := newFake(t, seed)
			f.Deny(azurefake.DemoSubData, "")
			return newCollector(t, f), azurefake.DemoSubData
		},
		Secrets: secrets,
	})
	t.Run("denied-graph", func(t *testing.T) {
		f := newFake(t, seed)
		for _, op := range graphReadOps {
			f.Deny(azurefake.DemoTenantID, op)
		}
		inv := collectortest.Collect(t, newCollector(t, f))
		if !inv.Partial(nhi.Azure, azurefake.DemoTenantID) {
			t.Errorf("no gap for the denied tenant: %+v", inv.Gaps)
		}
		// ARM still shows the user-assigned managed identities.
		mi := byName(t, inv, "mi-data-lake-loader")
		if mi.Scope != azurefake.DemoSubData || len(mi.Grants) == 0 {
			t.Errorf("managed identity from ARM: scope %q, %d grants", mi.Scope, len(mi.Grants))
		}
		if mi.Usage.State != nhi.UsageUnknown {
			t.Errorf("usage with the reports denied = %q, want unknown", mi.Usage.State)
		}
	})
}

func TestGoldenInventory(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	inv := collectortest.Collect(t, newCollector(t, f))
	collectortest.Golden(t, filepath.Join("testdata", "golden-inventory.json"), inv, *update)
}

func TestCancelled(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newCollector(t, f).Collect(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Collect with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	f.Deny("", azurefake.OpSPSignInActivities)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	inv := collectortest.Collect(t, newCollector(t, f, func(c *azure.Config) { c.Logger = logger }))
	if logs.Len() == 0 {
		t.Fatal("no log output to check")
	}
	var out bytes.Buffer
	_ = nhi.Encode(&out, inv)
	for _, s := range f.Secrets() {
		if strings.Contains(out.String(), s) || strings.Contains(logs.String(), s) {
			t.Errorf("secret %q… leaked", s[:4])
		}
		// The hint (first characters) is not collected either.
		if strings.Contains(out.String(), `"hint"`) {
			t.Error("inventory carries a secret hint")
		}
	}
}
