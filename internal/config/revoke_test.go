package config_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/duration"
)

func dur(d time.Duration) *time.Duration { return &d }

func TestRevokeExample(t *testing.T) {
	got, err := config.Load("testdata/revoke.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Revoke{Freshness: 2 * duration.Day, MinIdentityAge: dur(14 * duration.Day), MaxPerRun: 25, MaxPerScope: 5,
		NoticePeriod: dur(7 * duration.Day), DeleteGrace: dur(30 * duration.Day), AWSRoleName: "nhiscan-revoke",
		Dormant: config.RevokePolicy{On: true, After: 180 * duration.Day}, DepartedOwner: config.RevokePolicy{On: true, After: 30 * duration.Day}, Exposed: true}
	if diff := cmp.Diff(want, got.Revoke); diff != "" {
		t.Errorf("revoke (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile("testdata/revoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readDoc(t), "```yaml\n"+string(b)+"```\n") {
		t.Error("docs/configuration.md does not contain testdata/revoke.yaml verbatim in a yaml block")
	}
}

// TestRevokeDefaults: without the section every policy is off and the
// commands' defaults apply; 0d turns the notice off; the environment
// overrides.
func TestRevokeDefaults(t *testing.T) {
	got, err := config.Parse("", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Revoke{Freshness: 7 * duration.Day, MinIdentityAge: dur(7 * duration.Day), MaxPerRun: 20, MaxPerScope: 10,
		NoticePeriod: dur(7 * duration.Day), DeleteGrace: dur(30 * duration.Day)}
	if diff := cmp.Diff(want, got.Revoke.Defaults(7*duration.Day)); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	got, err = config.Parse("c.yaml", []byte("revoke:\n  notice_period: 0d\n  min_identity_age: 0d\n"), env(map[string]string{
		"NHISCAN_REVOKE_AWS_ROLE_NAME": "breakglass-revoker", "NHISCAN_REVOKE_FRESHNESS": "1d"}))
	if err != nil {
		t.Fatal(err)
	}
	r := got.Revoke.Defaults(7 * duration.Day)
	if *r.NoticePeriod != 0 || *r.MinIdentityAge != 0 || r.AWSRoleName != "breakglass-revoker" || r.Freshness != duration.Day || r.Dormant.On {
		t.Errorf("explicit zeros and environment: %+v", r)
	}
}

func TestRevokeErrors(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte(`revoke:
  max_per_run: 0
  notice_period: -1d
  delete_grace: soon
  policies:
    dormant: {}
    departed_owner: { after: 0d }
    exposed: yes
  aws_role_name: ""
`), env(nil))
	if err == nil {
		t.Fatal("bad revoke section loaded")
	}
	for _, want := range []string{"c.yaml:2:", "max_per_run 0 must be at least 1", "c.yaml:3:", "notice_period", "c.yaml:4:", "delete_grace",
		"c.yaml:6:", "policy dormant needs after", "c.yaml:7:", "c.yaml:8:", "c.yaml:9:", "aws_role_name must not be empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
