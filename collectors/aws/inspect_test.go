package aws_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func inspect(t *testing.T, c collectors.Inspector, id nhi.Identity, cred string) collectors.TargetState {
	t.Helper()
	st, err := c.Inspect(context.Background(), collectors.ActionRequest{Identity: id, CredentialID: cred})
	if err != nil {
		t.Fatalf("inspect %s %s: %v", id.Name, cred, err)
	}
	return st
}

// TestInspectTwinKeys: two keys of one user created in the same second,
// one used yesterday and one unused for 400 days; the credential report
// cannot tell their use apart, so the scan reads each with
// GetAccessKeyLastUsed, the per-key re-read agrees, and only the named key
// changes when it is disabled.
func TestInspectTwinKeys(t *testing.T) {
	seed := awsfake.Demo(now)
	created := now.AddDate(0, 0, -500)
	const usedKey, staleKey = "AKIA222PAYCITWINA001", "AKIA222PAYCITWINB001"
	seed.Accounts[1].Users = append(seed.Accounts[1].Users, awsfake.User{Name: "twin-keys", ID: "AIDA222TWINKEYS00001", Created: created,
		AccessKeys: []awsfake.AccessKey{
			{ID: usedKey, Active: true, Created: created, LastUsed: now.AddDate(0, 0, -1), LastUsedService: "s3", LastUsedRegion: "eu-west-1"},
			{ID: staleKey, Active: true, Created: created, LastUsed: now.AddDate(0, 0, -400), LastUsedService: "sts", LastUsedRegion: "us-east-1"},
		}})
	srv := startFake(t, seed)
	ctl := newControls(t, srv, nil)
	user := byName(t, collectortest.Collect(t, newCollector(t, srv, nil)), awsfake.DemoPayments, "twin-keys")
	for _, k := range user.Credentials {
		want := map[string]time.Time{usedKey: now.AddDate(0, 0, -1), staleKey: now.AddDate(0, 0, -400)}[k.ID]
		if k.Usage.State != nhi.UsageUsed || !k.Usage.LastUsed.Equal(want) || k.Usage.Source != "access-key-last-used" {
			t.Errorf("the scan's usage of %s = %+v, want used at %s, read per key", k.ID, k.Usage, want)
		}
	}
	srv.ResetCalls()
	stale := inspect(t, ctl, user, staleKey)
	if !stale.Exists || stale.ID != staleKey || stale.Status != nhi.StatusActive || stale.Native != "Active" || !stale.Created.Equal(created.Truncate(1e9)) ||
		stale.Usage.State != nhi.UsageUsed || !stale.Usage.LastUsed.Equal(now.AddDate(0, 0, -400)) || stale.Usage.Source != "access-key-last-used" || !stale.Usage.AsOf.Equal(now) {
		t.Errorf("stale key = %+v", stale)
	}
	if got := srv.CallCount("iam:GetAccessKeyLastUsed"); got != 1 {
		t.Errorf("GetAccessKeyLastUsed calls = %d, want 1", got)
	}
	if fresh := inspect(t, ctl, user, usedKey); !fresh.Usage.LastUsed.Equal(now.AddDate(0, 0, -1)) {
		t.Errorf("used key = %+v", fresh)
	}
	act(t, ctl, collectors.Disable, user, staleKey)
	if st := inspect(t, ctl, user, staleKey); st.Status != nhi.StatusDisabled || st.Native != "Inactive" {
		t.Errorf("after disable: %+v", st)
	}
	if st := inspect(t, ctl, user, usedKey); st.Status != nhi.StatusActive {
		t.Errorf("the other key after disable: %+v", st)
	}
	act(t, ctl, collectors.Delete, user, staleKey)
	if st := inspect(t, ctl, user, staleKey); st.Exists {
		t.Errorf("after delete: %+v", st)
	}
}

func TestInspectPrincipals(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	ctl := newControls(t, srv, nil)
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	user := byName(t, inv, awsfake.DemoPayments, "payments-ci-deployer")
	var role nhi.Identity
	for _, id := range inv.Identities {
		if id.Kind == nhi.KindAWSRole && id.Scope == awsfake.DemoPayments && !id.ProviderManaged {
			role = id
			break
		}
	}
	for _, id := range []nhi.Identity{user, role} {
		st := inspect(t, ctl, id, "")
		if !st.Exists || st.ID != id.NativeID || st.Status != nhi.StatusActive {
			t.Errorf("%s = %+v", id.Name, st)
		}
		act(t, ctl, collectors.Disable, id, "")
		if st := inspect(t, ctl, id, ""); st.Status != nhi.StatusDisabled || st.Native != "Quarantined" {
			t.Errorf("%s quarantined = %+v", id.Name, st)
		}
	}
	// A name now carried by another principal is the old target gone.
	other := user
	other.NativeID = "AIDA222SOMEONEELSE01"
	if st := inspect(t, ctl, other, ""); st.Exists {
		t.Errorf("reused name = %+v, want gone", st)
	}
	if st := inspect(t, ctl, other, "AKIA222PAYCINEWKEY01"); st.Exists {
		t.Errorf("key of a reused name = %+v, want gone", st)
	}
	if _, err := ctl.Inspect(context.Background(), collectors.ActionRequest{Identity: nhi.Identity{Provider: nhi.GCP}}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("foreign identity: %v", err)
	}
}

// TestInspectDenied: a denied re-read is an error, never a guess.
func TestInspectDenied(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	ctl := newControls(t, srv, nil)
	user := byName(t, collectortest.Collect(t, newCollector(t, srv, nil)), awsfake.DemoPayments, "payments-ci-deployer")
	srv.Deny(awsfake.DemoPayments, "iam:GetAccessKeyLastUsed")
	if _, err := ctl.Inspect(context.Background(), collectors.ActionRequest{Identity: user, CredentialID: "AKIA222PAYCINEWKEY01"}); !errors.Is(err, collectors.ErrDenied) {
		t.Errorf("denied last-use read: %v, want ErrDenied", err)
	}
}
