package gcp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// controls returns the credential controls against srv.
func controls(t testing.TB, srv *gcpfake.Server) *gcp.Controls {
	t.Helper()
	c, err := gcp.NewControls(gcp.Config{Endpoint: srv.URL, HTTPClient: srv.Client(), RetryBaseDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func act(t *testing.T, c collectors.Controller, a collectors.Action, id nhi.Identity, cred string) (collectors.ActionResult, error) {
	t.Helper()
	return c.Act(context.Background(), collectors.ActionRequest{Action: a, Identity: id, CredentialID: cred})
}

func TestKeyActionsAreIdempotentAndSeenByARescan(t *testing.T) {
	srv := demo(t)
	c, ctl := collector(t, srv), controls(t, srv)
	id := identityByName(t, collectortest.Collect(t, c), "payments-batch-legacy")
	const old = "c3d5e7f9a1b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0"

	for i, want := range []bool{true, false} {
		res, err := act(t, ctl, collectors.Disable, id, old)
		if err != nil || res.Changed != want || res.After != "disabled" {
			t.Fatalf("disable #%d: %+v, %v (changed want %v)", i+1, res, err, want)
		}
	}
	if k, _ := srv.Key(id.NativeID, old); !k.Disabled {
		t.Error("fake key not disabled")
	}
	re := identityByName(t, collectortest.Collect(t, c), "payments-batch-legacy")
	cr, _ := re.Credential(old)
	if cr == nil || cr.Status != nhi.StatusDisabled {
		t.Errorf("rescan after disable: %+v", cr)
	}
	for i, want := range []bool{true, false} {
		res, err := act(t, ctl, collectors.Enable, id, old)
		if err != nil || res.Changed != want || res.Before == "" {
			t.Fatalf("enable #%d: %+v, %v", i+1, res, err)
		}
	}
	for i, want := range []bool{true, false} {
		res, err := act(t, ctl, collectors.Delete, id, old)
		if err != nil || res.Changed != want {
			t.Fatalf("delete #%d: %+v, %v", i+1, res, err)
		}
	}
	after := identityByName(t, collectortest.Collect(t, c), "payments-batch-legacy")
	if _, ok := after.Credential(old); ok || len(after.Credentials) != 1 {
		t.Errorf("rescan after delete still lists the key: %+v", after.Credentials)
	}
	if srv.CallCount(gcpfake.OpDisableKey) != 1 || srv.CallCount(gcpfake.OpEnableKey) != 1 || srv.CallCount(gcpfake.OpDeleteKey) != 1 {
		t.Errorf("a repeated action changed state again: %v", srv.Calls())
	}
}

func TestServiceAccountActions(t *testing.T) {
	srv := demo(t)
	c, ctl := collector(t, srv), controls(t, srv)
	id := identityByName(t, collectortest.Collect(t, c), "payments-ledger-sync")
	for i, want := range []bool{true, false} {
		res, err := act(t, ctl, collectors.Disable, id, "")
		if err != nil || res.Changed != want {
			t.Fatalf("disable #%d: %+v, %v", i+1, res, err)
		}
	}
	if identityByName(t, collectortest.Collect(t, c), "payments-ledger-sync").Status != nhi.StatusDisabled {
		t.Error("rescan does not see the disabled account")
	}
	if res, err := act(t, ctl, collectors.Enable, id, ""); err != nil || !res.Changed {
		t.Fatalf("enable: %+v, %v", res, err)
	}
	if sa, _ := srv.ServiceAccount(id.NativeID); sa.Disabled {
		t.Error("fake account still disabled")
	}
	if _, err := act(t, ctl, collectors.Delete, id, ""); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("delete account: %v, want ErrUnsupported", err)
	}
}

func TestRefusedActions(t *testing.T) {
	srv := demo(t)
	c, ctl := collector(t, srv), controls(t, srv)
	inv := collectortest.Collect(t, c)
	backup := identityByName(t, inv, "platform-backup-agent")
	if _, err := act(t, ctl, collectors.Enable, backup, "2c9e5a7b1d3f4e6a8b0c2d4e6f8a0b1c3d5e7f90"); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("re-enabling a key Google disabled as exposed: %v, want refusal", err)
	}
	nodes := identityByName(t, inv, "platform-gke-nodes")
	if _, err := act(t, ctl, collectors.Disable, nodes, nodes.Credentials[0].ID); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("disabling a system-managed key: %v, want ErrUnsupported", err)
	}
	exporter := identityByName(t, inv, "data-reporting-exporter")
	for _, cr := range exporter.Credentials {
		if cr.Type == nhi.CredGCPAPIKey {
			if _, err := act(t, ctl, collectors.Disable, exporter, cr.ID); !errors.Is(err, collectors.ErrUnsupported) {
				t.Errorf("API key: %v, want ErrUnsupported", err)
			}
		}
	}
	etl := identityByName(t, inv, "data-etl-runner")
	for _, cr := range etl.Credentials {
		if cr.Type == nhi.CredGCPHMACKey {
			if _, err := act(t, ctl, collectors.Disable, etl, cr.ID); !errors.Is(err, collectors.ErrUnsupported) {
				t.Errorf("HMAC key: %v, want ErrUnsupported", err)
			}
		}
	}
	if fed, ok := inv.Identity(legacySet); !ok {
		t.Error("no federated principal in the demo")
	} else if _, err := act(t, ctl, collectors.Disable, *fed, ""); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("federated principal: %v, want ErrUnsupported", err)
	}
	agent := identityByName(t, inv, "service-100000000001")
	if _, err := act(t, ctl, collectors.Disable, agent, ""); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("service agent: %v, want ErrUnsupported", err)
	}
	// Ids that would change the request path are refused before any call.
	before := srv.TotalCalls()
	hostile := backup
	hostile.NativeID = "104000000000000000012/keys/2c9e5a7b1d3f4e6a8b0c2d4e6f8a0b1c3d5e7f90:enable?x="
	if _, err := act(t, ctl, collectors.Disable, hostile, ""); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("hostile native id: %v, want ErrUnsupported", err)
	}
	for _, id := range []string{"../../104000000000000000001", "2c9e5a7b1d3f4e6a8b0c2d4e6f8a0b1c3d5e7f90:enable", "k/../../x"} {
		if _, err := act(t, ctl, collectors.Enable, backup, id); !errors.Is(err, collectors.ErrUnsupported) {
			t.Errorf("hostile credential id %q: %v, want ErrUnsupported", id, err)
		}
	}
	if n := srv.TotalCalls() - before; n != 0 {
		t.Errorf("hostile ids reached the API: %d calls", n)
	}

	srv.Deny("acme-platform-prod", gcpfake.OpDisableKey)
	if _, err := act(t, ctl, collectors.Disable, backup, "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"); !errors.Is(err, collectors.ErrDenied) {
		t.Errorf("denied disable: %v, want ErrDenied", err)
	}
	if k, _ := srv.Key(backup.NativeID, "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"); k.Disabled {
		t.Error("a denied disable changed the key")
	}

	// A key Google reports exposed only through its extended status may be
	// disabled, but a rollback must not bring it back.
	const live = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
	srv = demo(t)
	c, ctl = collector(t, srv), controls(t, srv)
	if res, err := act(t, ctl, collectors.Disable, backup, live); err != nil || !res.Changed {
		t.Fatalf("disabling an exposed key: %+v, %v", res, err)
	}
	if _, err := act(t, ctl, collectors.Enable, backup, live); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("re-enabling a key whose extended status says exposed: %v, want refusal", err)
	}
	if k, _ := srv.Key(backup.NativeID, live); !k.Disabled {
		t.Error("the exposed key was enabled again")
	}
}
