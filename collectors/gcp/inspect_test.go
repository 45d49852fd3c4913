package gcp_test

import (
	"context"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestInspect: a key's and an account's re-read follow the actions, a
// deleted key is gone, and the key's creation matches the scan's.
func TestInspect(t *testing.T) {
	srv := demo(t)
	c, ctl := collector(t, srv), controls(t, srv)
	id := identityByName(t, collectortest.Collect(t, c), "payments-batch-legacy")
	const old = "c3d5e7f9a1b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0"
	cred, _ := id.Credential(old)
	get := func(cred string) collectors.TargetState {
		t.Helper()
		st, err := ctl.Inspect(context.Background(), collectors.ActionRequest{Identity: id, CredentialID: cred})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	srv.ResetCalls()
	st := get(old)
	if !st.Exists || st.ID != old || st.Status != nhi.StatusActive || !st.Created.Equal(cred.Created) || st.Usage.State != nhi.UsageNotReported {
		t.Errorf("key = %+v (scan created %s)", st, cred.Created)
	}
	if srv.CallCount(gcpfake.OpGetKey) != 1 || srv.TotalCalls() != 1 {
		t.Errorf("calls = %v, want one keys.get", srv.Calls())
	}
	if _, err := act(t, ctl, collectors.Disable, id, old); err != nil {
		t.Fatal(err)
	}
	if st := get(old); st.Status != nhi.StatusDisabled {
		t.Errorf("after disable: %+v", st)
	}
	if _, err := act(t, ctl, collectors.Delete, id, old); err != nil {
		t.Fatal(err)
	}
	if st := get(old); st.Exists {
		t.Errorf("after delete: %+v", st)
	}
	if st := get(""); !st.Exists || st.ID != id.NativeID || st.Status != nhi.StatusActive {
		t.Errorf("account = %+v", st)
	}
	if _, err := act(t, ctl, collectors.Disable, id, ""); err != nil {
		t.Fatal(err)
	}
	if st := get(""); st.Status != nhi.StatusDisabled {
		t.Errorf("account after disable = %+v", st)
	}
}
