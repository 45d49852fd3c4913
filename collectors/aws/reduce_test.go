package aws_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func actGrant(t *testing.T, c collectors.Controller, a collectors.Action, id nhi.Identity, grant string, restore []byte) collectors.ActionResult {
	t.Helper()
	res, err := c.Act(context.Background(), collectors.ActionRequest{Action: a, Identity: id, GrantID: grant, RestoreData: restore})
	if err != nil {
		t.Fatalf("%s %s %s: %v", a, id.Name, grant, err)
	}
	return res
}

func inspectGrant(t *testing.T, c collectorsInspector, id nhi.Identity, grant string) collectors.TargetState {
	t.Helper()
	st, err := c.Inspect(context.Background(), collectors.ActionRequest{Identity: id, GrantID: grant})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type collectorsInspector = interface {
	collectors.Controller
	collectors.Inspector
}

// A reduce detaches a managed policy (rollback attaches it again) and
// deletes an inline policy after saving its document (rollback puts the
// same document back); the second of each changes nothing, and Inspect
// reads the grant back.
func TestRemoveAndRestoreGrants(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	ctl := newControls(t, srv, nil)
	var ci collectorsInspector = ctl
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	deploy := byName(t, inv, awsfake.DemoPayments, "payments-github-deploy")
	const managed = "managed-policy:arn:aws:iam::aws:policy/PowerUserAccess"
	if st := inspectGrant(t, ci, deploy, managed); !st.Exists || st.Status != nhi.StatusActive {
		t.Fatalf("before: %+v", st)
	}
	res := actGrant(t, ctl, collectors.RemoveGrant, deploy, managed, nil)
	if !res.Changed || len(res.RestoreData) == 0 {
		t.Fatalf("remove = %+v", res)
	}
	if st := inspectGrant(t, ci, deploy, managed); st.Exists {
		t.Errorf("after remove: %+v", st)
	}
	if again := actGrant(t, ctl, collectors.RemoveGrant, deploy, managed, nil); again.Changed {
		t.Errorf("second remove changed: %+v", again)
	}
	actGrant(t, ctl, collectors.RestoreGrant, deploy, managed, res.RestoreData)
	if st := inspectGrant(t, ci, deploy, managed); !st.Exists {
		t.Errorf("after restore: %+v", st)
	}

	runtime := byName(t, inv, awsfake.DemoPayments, "payments-api-runtime")
	const inline = "inline-policy:payments-tables"
	acct, _ := srv.Account(awsfake.DemoPayments)
	var doc string
	for _, r := range acct.Roles {
		if r.Name == "payments-api-runtime" {
			doc = r.Inline["payments-tables"]
		}
	}
	res = actGrant(t, ctl, collectors.RemoveGrant, runtime, inline, nil)
	if st := inspectGrant(t, ci, runtime, inline); st.Exists {
		t.Errorf("inline after remove: %+v", st)
	}
	actGrant(t, ctl, collectors.RestoreGrant, runtime, inline, res.RestoreData)
	acct, _ = srv.Account(awsfake.DemoPayments)
	for _, r := range acct.Roles {
		if r.Name == "payments-api-runtime" && r.Inline["payments-tables"] != doc {
			t.Errorf("restored document %q, want %q", r.Inline["payments-tables"], doc)
		}
	}
	// A group's policy is not the user's to remove.
	legacy := byName(t, inv, awsfake.DemoPayments, "payments-reporting-legacy")
	_, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.RemoveGrant, Identity: legacy,
		GrantID: "group-policy:reporting-readers:arn:aws:iam::aws:policy/ReadOnlyAccess"})
	if !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("group policy removal: %v, want unsupported", err)
	}
}
