package gcp_test

import (
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

const (
	exposedDisabledKey = "2c9e5a7b1d3f4e6a8b0c2d4e6f8a0b1c3d5e7f90"
	exposedLiveKey     = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
	// accountsWithUserKeys is how many demo accounts hold user-managed keys.
	accountsWithUserKeys = 9
)

// TestKeyStateLeftOutOfAssetsIsReadFromIAM: when the asset data removes
// the keys' disabled flag, disable reason and extended status, the
// collector reads them through IAM keys.list, one call per account with
// user-managed keys, and still finds the key Google disabled for exposure
// and the live exposed key.
func TestKeyStateLeftOutOfAssetsIsReadFromIAM(t *testing.T) {
	srv := demo(t)
	srv.SetAssetKeyFields(gcpfake.KeyFieldsRemoved)
	inv := collectortest.Collect(t, collector(t, srv))
	if len(inv.Gaps) != 0 {
		t.Errorf("gaps %+v", inv.Gaps)
	}
	backup := identityByName(t, inv, "platform-backup-agent")
	old, _ := backup.Credential(exposedDisabledKey)
	live, _ := backup.Credential(exposedLiveKey)
	if old == nil || old.Status != nhi.StatusDisabled || len(old.Signals) != 1 {
		t.Errorf("key disabled for exposure: %+v", old)
	}
	if live == nil || live.Status != nhi.StatusActive || len(live.Signals) != 1 || live.Signals[0].Code != nhi.SignalExposed {
		t.Errorf("live exposed key: %+v", live)
	}
	if n := srv.CallCount(gcpfake.OpListKeys); n != accountsWithUserKeys {
		t.Errorf("keys.list calls = %d, want one per account with user-managed keys (%d)", n, accountsWithUserKeys)
	}
}

// TestKeyStateIsNeverAssumedActive: a key whose state neither the asset
// data nor IAM gave (keys.list denied in its project, or beyond the call
// budget) has status unknown, no signal, and a gap hides its project's
// keys; other projects are unaffected.
func TestKeyStateIsNeverAssumedActive(t *testing.T) {
	t.Run("keys.list denied", func(t *testing.T) {
		srv := demo(t)
		srv.SetAssetKeyFields(gcpfake.KeyFieldsRemoved)
		srv.Deny("acme-platform-prod", gcpfake.OpListKeys)
		inv := collectortest.Collect(t, collector(t, srv))
		backup := identityByName(t, inv, "platform-backup-agent")
		for _, k := range backup.Credentials {
			if k.Type != nhi.CredGCPUserManagedKey {
				continue
			}
			if k.Status != nhi.StatusUnknown || len(k.Signals) != 0 || !strings.Contains(k.Attributes["state"], "unknown") {
				t.Errorf("key %s: status %s, signals %v, attributes %v", k.ID, k.Status, k.Signals, k.Attributes)
			}
		}
		cov := inv.Coverage()
		if cov.Observed(nhi.GCP, "acme-platform-prod", nhi.CredentialsFacet(nhi.CredGCPUserManagedKey)) {
			t.Error("the keys of acme-platform-prod count as observed")
		}
		if !cov.Observed(nhi.GCP, "acme-data-prod", nhi.CredentialsFacet(nhi.CredGCPUserManagedKey)) {
			t.Error("a denial in acme-platform-prod hid the keys of acme-data-prod")
		}
		etl := identityByName(t, inv, "data-etl-runner")
		if k, _ := etl.Credential("e5b7d9f1a3c4e6b8d0f2a3c5e7b9d1f3a5c7e9b0"); k == nil || k.Status != nhi.StatusActive {
			t.Errorf("a key of another project: %+v", k)
		}
	})
	t.Run("budget spent", func(t *testing.T) {
		srv := demo(t)
		srv.SetAssetKeyFields(gcpfake.KeyFieldsRemoved)
		inv := collectortest.Collect(t, collector(t, srv, func(c *gcp.Config) { c.KeyStateCalls = 2 }))
		if n := srv.CallCount(gcpfake.OpListKeys); n != 2 {
			t.Errorf("keys.list calls = %d, want the budget of 2", n)
		}
		unknown, budgetGaps := 0, 0
		for _, id := range inv.Identities {
			for _, k := range id.Credentials {
				if k.Status == nhi.StatusUnknown {
					unknown++
					if inv.Coverage().Observed(nhi.GCP, id.Scope, nhi.CredentialsFacet(k.Type)) {
						t.Errorf("%s key %s: state unknown but its facet observed", id.Name, k.ID)
					}
				}
			}
		}
		for _, g := range inv.Gaps {
			if g.Source == gcpfake.OpListKeys && strings.Contains(g.Detail, "budget") {
				budgetGaps++
			}
		}
		if unknown == 0 || budgetGaps == 0 {
			t.Errorf("%d keys of unknown state, %d budget gaps; gaps %+v", unknown, budgetGaps, inv.Gaps)
		}
	})
}
