package gcp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func grantID(t *testing.T, id nhi.Identity, role string) string {
	t.Helper()
	for _, g := range id.Grants {
		if g.Entitlement == role {
			return g.ID
		}
	}
	t.Fatalf("%s has no binding of %s", id.Name, role)
	return ""
}

// removeAndRestoreBinding removes a member from a project role binding,
// reads it back gone, restores it from the restore data and reads it back.
func removeAndRestoreBinding(t *testing.T, ctl *gcp.Controls, id nhi.Identity, role string) {
	t.Helper()
	ctx := context.Background()
	g := grantID(t, id, role)
	req := collectors.ActionRequest{Action: collectors.RemoveGrant, Identity: id, GrantID: g}
	res, err := ctl.Act(ctx, req)
	if err != nil || !res.Changed || len(res.RestoreData) == 0 {
		t.Fatalf("remove: %+v %v", res, err)
	}
	if st, err := ctl.Inspect(ctx, req); err != nil || st.Exists {
		t.Fatalf("after remove: %+v %v", st, err)
	}
	if again, err := ctl.Act(ctx, req); err != nil || again.Changed {
		t.Errorf("second remove: %+v %v", again, err)
	}
	req.Action, req.RestoreData = collectors.RestoreGrant, res.RestoreData
	if _, err := ctl.Act(ctx, req); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if st, err := ctl.Inspect(ctx, req); err != nil || !st.Exists || st.Status != nhi.StatusActive {
		t.Errorf("after restore: %+v %v", st, err)
	}
}

// A reduce removes the member from the project's role binding with the
// policy's etag; its rollback adds it back. Bindings elsewhere than on a
// project are not removed.
func TestRemoveAndRestoreBinding(t *testing.T) {
	srv := demo(t)
	inv := collectortest.Collect(t, collector(t, srv))
	ctl, err := gcp.NewControls(gcp.Config{Endpoint: srv.URL + "/", HTTPClient: srv.Client(), RetryBaseDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	removeAndRestoreBinding(t, ctl, identityByName(t, inv, "data-reporting-exporter"), "projects/acme-data-prod/roles/reportingAdmin")
	tf := identityByName(t, inv, "platform-terraform")
	_, err = ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.RemoveGrant, Identity: tf,
		GrantID: grantID(t, tf, "roles/resourcemanager.folderAdmin")})
	if !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("folder binding removal: %v, want unsupported", err)
	}
}
