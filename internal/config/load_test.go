package config_test

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// env returns a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestManyErrorsGolden(t *testing.T) {
	_, err := config.Load("testdata/many.yaml", env(nil))
	var es *config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T %v, want *config.Errors", err, err)
	}
	got := err.Error() + "\n"
	const golden = "testdata/many.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("errors differ from %s (-want +got):\n%s", golden, diff)
	}
}

// TestNoSecretInErrors: the inline secrets in many.yaml (and a secret
// pasted into a *_file setting or a URL) never appear in the errors.
func TestNoSecretInErrors(t *testing.T) {
	_, err := config.Load("testdata/many.yaml", env(nil))
	if err == nil {
		t.Fatal("no error")
	}
	for _, secret := range []string{"wJalrXUtnFEMI", "do-not-print-me", "hunter2", "ghp_canary"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("errors leak %q:\n%v", secret, err)
		}
	}
}

func TestInlineSecretsRejected(t *testing.T) {
	cases := []struct {
		yaml, want string
	}{
		{"providers:\n  github:\n    organizations: [acme]\n    token: s3cr3t-value\n", `inline secret "token" in github provider is not allowed: secrets never go in the configuration; use "token_file"`},
		{"providers:\n  github:\n    organizations: [acme]\n    private_key: |\n      s3cr3t-value\n", `use "private_key_file"`},
		{"providers:\n  azure:\n    tenant_id: acme.example\n    client_secret: s3cr3t-value\n", `use "client_secret_file"`},
		{"providers:\n  aws:\n    secret_access_key: s3cr3t-value\n", "the AWS SDK's standard credential chain"},
		{"password: s3cr3t-value\n", `inline secret "password" in configuration file`},
		{"providers:\n  gcp:\n    projects: [p]\n    credentials_json: {private_key: s3cr3t-value}\n", `use "credentials_file"`},
		{"providers:\n  aws:\n    AWS_Session_Token: s3cr3t-value\n", `inline secret "AWS_Session_Token"`},
		{"providers:\n  github:\n    organizations: [acme]\n    webhook_secret: s3cr3t-value\n", `inline secret "webhook_secret" in github provider is not allowed: secrets never go in the configuration; use a *_file setting`},
		{"providers:\n  github:\n    organizations: [acme]\n    private_key_file: \"-----BEGIN RSA PRIVATE KEY-----\\ns3cr3t-value\"\n", "private_key_file looks like a secret, not a file path"},
	}
	for _, tc := range cases {
		_, err := config.Parse("c.yaml", []byte(tc.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.yaml, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%q: error leaks the secret: %v", tc.yaml, err)
		}
	}
	// A typo of a *_file key is a typo, not an inline secret.
	_, err := config.Parse("c.yaml", []byte("providers:\n  github:\n    organizations: [acme]\n    token_fle: t\n"), nil)
	if err == nil || !strings.Contains(err.Error(), `unknown key "token_fle" in github provider (did you mean "token_file"?)`) {
		t.Errorf("typo: got %v", err)
	}
}

// TestMovedOwnerKeys: the owner tag keys moved to the catalog; the old
// spellings are errors at their position that say where the setting went.
func TestMovedOwnerKeys(t *testing.T) {
	const src = `providers:
  aws:
    owner_tags: [owner]
  azure:
    tenant_id: acme.example
    owner_tags: [owner]
  gcp:
    projects: [p1]
    owner_labels: [owner]
`
	_, err := config.Parse("c.yaml", []byte(src), nil)
	const moved = "has moved: owner tag and label keys are set once, for every provider, in the catalog's defaults.owner_tag_keys (docs/catalog.md); remove it here"
	want := strings.Join([]string{
		`c.yaml:3:5: "owner_tags" in aws provider ` + moved,
		`c.yaml:6:5: "owner_tags" in azure provider ` + moved,
		`c.yaml:9:5: "owner_labels" in gcp provider ` + moved,
	}, "\n")
	if err == nil {
		t.Fatal("old owner keys accepted")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
