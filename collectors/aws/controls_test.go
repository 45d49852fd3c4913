package aws_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func act(t *testing.T, c collectors.Controller, a collectors.Action, id nhi.Identity, cred string) collectors.ActionResult {
	t.Helper()
	res, err := c.Act(context.Background(), collectors.ActionRequest{Action: a, Identity: id, CredentialID: cred})
	if err != nil {
		t.Fatalf("%s %s %s: %v", a, id.Name, cred, err)
	}
	return res
}

func TestAccessKeyLifecycle(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	inv := collectortest.Collect(t, c)
	user := byName(t, inv, awsfake.DemoPayments, "payments-ci-deployer")
	const oldKey, newKey = "AKIA222PAYCIOLDKEY01", "AKIA222PAYCINEWKEY01"

	res := act(t, ctl, collectors.Disable, user, oldKey)
	if !res.Changed || res.Before != "Active" || res.After != "Inactive" {
		t.Errorf("disable = %+v", res)
	}
	if res := act(t, ctl, collectors.Disable, user, oldKey); res.Changed || res.After != "Inactive" {
		t.Errorf("second disable = %+v, want unchanged", res)
	}
	rescan := byName(t, collectortest.Collect(t, c), awsfake.DemoPayments, "payments-ci-deployer")
	k, _ := rescan.Credential(oldKey)
	other, _ := rescan.Credential(newKey)
	if k.Status != nhi.StatusDisabled || other.Status != nhi.StatusActive {
		t.Errorf("after disable: %s %s, %s %s (only the named key may change)", oldKey, k.Status, newKey, other.Status)
	}

	if res := act(t, ctl, collectors.Enable, user, oldKey); !res.Changed || res.After != "Active" {
		t.Errorf("enable = %+v", res)
	}
	rescan = byName(t, collectortest.Collect(t, c), awsfake.DemoPayments, "payments-ci-deployer")
	if k, _ := rescan.Credential(oldKey); k.Status != nhi.StatusActive {
		t.Errorf("after enable: %s", k.Status)
	}

	if res := act(t, ctl, collectors.Delete, user, oldKey); !res.Changed || res.After != "Deleted" {
		t.Errorf("delete = %+v", res)
	}
	if res := act(t, ctl, collectors.Delete, user, oldKey); res.Changed {
		t.Errorf("second delete = %+v, want unchanged", res)
	}
	rescan = byName(t, collectortest.Collect(t, c), awsfake.DemoPayments, "payments-ci-deployer")
	if _, ok := rescan.Credential(oldKey); ok || len(rescan.Credentials) != 1 {
		t.Errorf("deleted key still listed: %+v", rescan.Credentials)
	}
	if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Disable, Identity: user, CredentialID: oldKey}); !errors.Is(err, collectors.ErrNotFound) {
		t.Errorf("disable of a deleted key: %v, want ErrNotFound", err)
	}
	if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Restore, Identity: user, CredentialID: newKey}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("restore: %v, want ErrUnsupported", err)
	}
}

func TestServiceCredentialDisable(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	user := byName(t, collectortest.Collect(t, c), awsfake.DemoData, "data-airflow-svc")
	const id = "ACCA333AIRFLOWBEDRK01"
	if res := act(t, ctl, collectors.Disable, user, id); !res.Changed {
		t.Errorf("disable = %+v", res)
	}
	if res := act(t, ctl, collectors.Disable, user, id); res.Changed {
		t.Errorf("second disable = %+v", res)
	}
	after := byName(t, collectortest.Collect(t, c), awsfake.DemoData, "data-airflow-svc")
	if cr, _ := after.Credential(id); cr.Status != nhi.StatusDisabled {
		t.Errorf("after disable: %s", cr.Status)
	}
}

func TestRoleQuarantine(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	inv := collectortest.Collect(t, c)
	role := byName(t, inv, awsfake.DemoPayments, "payments-api-runtime")

	res := act(t, ctl, collectors.Disable, role, "")
	if !res.Changed || res.After != "Quarantined" || !strings.Contains(res.Detail, "AWSRevokeOlderSessions") {
		t.Errorf("quarantine = %+v", res)
	}
	a, _ := srv.Account(awsfake.DemoPayments)
	for _, r := range a.Roles {
		if r.Name == role.Name {
			if !strings.Contains(r.Inline["AWSRevokeOlderSessions"], `"aws:TokenIssueTime":"2026-11-20T09:30:00Z"`) || !strings.Contains(r.Inline["nhiscan-quarantine"], `"Effect":"Deny"`) {
				t.Errorf("inline policies after quarantine: %v", r.Inline)
			}
		}
	}
	if res := act(t, ctl, collectors.Disable, role, ""); res.Changed {
		t.Errorf("second quarantine = %+v", res)
	}
	if got := byName(t, collectortest.Collect(t, c), awsfake.DemoPayments, "payments-api-runtime"); got.Status != nhi.StatusDisabled {
		t.Errorf("rescan status = %s, want disabled", got.Status)
	}
	if res := act(t, ctl, collectors.Enable, role, ""); !res.Changed || res.After != "Active" {
		t.Errorf("release = %+v", res)
	}
	if res := act(t, ctl, collectors.Enable, role, ""); res.Changed {
		t.Errorf("second release = %+v", res)
	}
	if got := byName(t, collectortest.Collect(t, c), awsfake.DemoPayments, "payments-api-runtime"); got.Status != nhi.StatusActive {
		t.Errorf("rescan status = %s, want active", got.Status)
	}

	slr := byName(t, inv, awsfake.DemoManagement, "AWSServiceRoleForSupport")
	if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Disable, Identity: slr}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("quarantine of a service-linked role: %v, want ErrUnsupported", err)
	}
}

func TestUserQuarantine(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	user := byName(t, collectortest.Collect(t, c), awsfake.DemoData, "data-etl-runner")
	if res := act(t, ctl, collectors.Disable, user, ""); !res.Changed {
		t.Errorf("quarantine = %+v", res)
	}
	if got := byName(t, collectortest.Collect(t, c), awsfake.DemoData, "data-etl-runner"); got.Status != nhi.StatusDisabled {
		t.Errorf("rescan status = %s", got.Status)
	}
}

func TestActDenied(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	user := byName(t, collectortest.Collect(t, c), awsfake.DemoPayments, "payments-ci-deployer")
	srv.Deny(awsfake.DemoPayments, "iam:UpdateAccessKey")
	_, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Disable, Identity: user, CredentialID: "AKIA222PAYCIOLDKEY01"})
	if !errors.Is(err, collectors.ErrDenied) {
		t.Errorf("err = %v, want ErrDenied", err)
	}
	a, _ := srv.Account(awsfake.DemoPayments)
	for _, u := range a.Users {
		for _, k := range u.AccessKeys {
			if k.ID == "AKIA222PAYCIOLDKEY01" && !k.Active {
				t.Error("a denied call changed the key")
			}
		}
	}
}

// TestQuarantineChecksImmutableID: a role deleted and created again under
// the same name after the scan is another identity; quarantining the
// collected one must not touch it.
func TestQuarantineChecksImmutableID(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	inv := collectortest.Collect(t, c)
	role := byName(t, inv, awsfake.DemoPayments, "payments-api-runtime")
	user := byName(t, inv, awsfake.DemoData, "data-etl-runner")
	srv.Mutate(awsfake.DemoPayments, func(a *awsfake.Account) {
		for i := range a.Roles {
			if a.Roles[i].Name == role.Name {
				a.Roles[i].ID = "AROA222PAYAPIRUNNEW1"
			}
		}
	})
	srv.Mutate(awsfake.DemoData, func(a *awsfake.Account) {
		for i := range a.Users {
			if a.Users[i].Name == user.Name {
				a.Users[i].ID = "AIDA333DATAETLRUNNEW"
			}
		}
	})
	for _, id := range []nhi.Identity{role, user} {
		_, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Disable, Identity: id})
		if !errors.Is(err, collectors.ErrNotFound) {
			t.Errorf("quarantine of %s after it was recreated: %v, want ErrNotFound", id.Name, err)
		}
	}
	pay, _ := srv.Account(awsfake.DemoPayments)
	data, _ := srv.Account(awsfake.DemoData)
	for _, r := range pay.Roles {
		if r.Name == role.Name && len(r.Inline) != 1 {
			t.Errorf("the new role got inline policies: %v", r.Inline)
		}
	}
	for _, u := range data.Users {
		if u.Name == user.Name && len(u.Inline) != 0 {
			t.Errorf("the new user got inline policies: %v", u.Inline)
		}
	}
}

// TestDeleteAfterUserRemoved: deleting a key or service-specific credential
// of a user that no longer exists is already done, not an error; disabling
// it is ErrNotFound.
func TestDeleteAfterUserRemoved(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	inv := collectortest.Collect(t, c)
	legacy := byName(t, inv, awsfake.DemoPayments, "payments-reporting-legacy")
	airflow := byName(t, inv, awsfake.DemoData, "data-airflow-svc")
	for acct, name := range map[string]string{awsfake.DemoPayments: legacy.Name, awsfake.DemoData: airflow.Name} {
		srv.Mutate(acct, func(a *awsfake.Account) {
			for i := range a.Users {
				if a.Users[i].Name == name {
					a.Users = append(a.Users[:i], a.Users[i+1:]...)
					return
				}
			}
		})
	}
	for _, tc := range []struct {
		id   nhi.Identity
		cred string
	}{{legacy, "AKIA222PAYREPLEG0001"}, {airflow, "ACCA333AIRFLOWBEDRK01"}} {
		if res := act(t, ctl, collectors.Delete, tc.id, tc.cred); res.Changed || res.After != "Deleted" {
			t.Errorf("delete %s = %+v, want unchanged, Deleted", tc.cred, res)
		}
		if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Disable, Identity: tc.id, CredentialID: tc.cred}); !errors.Is(err, collectors.ErrNotFound) {
			t.Errorf("disable %s: %v, want ErrNotFound", tc.cred, err)
		}
	}
}

// TestUnmodifiableRoleIsUnsupported: when a service-linked role reaches
// IAM (an identity record without its path), IAM's UnmodifiableEntity is
// ErrUnsupported, not a generic failure the workflow would retry.
func TestUnmodifiableRoleIsUnsupported(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	slr := byName(t, collectortest.Collect(t, c), awsfake.DemoManagement, "AWSServiceRoleForSupport")
	slr.ProviderManaged, slr.Path = false, ""
	if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Disable, Identity: slr}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("quarantine of a service-linked role at IAM: %v, want ErrUnsupported", err)
	}
}
