package gcp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/gcp"
)

// A workload identity federation configuration as gcloud iam
// workload-identity-pools create-cred-config writes it (no secret in it).
const wifConfig = `{
  "type": "external_account",
  "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/github",
  "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
  "token_url": "https://sts.googleapis.com/v1/token",
  "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/scanner@sec.iam.gserviceaccount.com:generateAccessToken",
  "credential_source": {"file": "/var/run/ci/token"}
}`

// TestCredentialSettings checks the three ways to authenticate: a
// credential file (here workload identity federation), Application Default
// Credentials found through GOOGLE_APPLICATION_CREDENTIALS, and the errors
// for a missing or unsupported file. New makes no call in any case.
func TestCredentialSettings(t *testing.T) {
	dir := t.TempDir()
	wif := filepath.Join(dir, "wif.json")
	if err := os.WriteFile(wif, []byte(wifConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(dir, "odd.json")
	if err := os.WriteFile(odd, []byte(`{"type":"gdch_service_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := gcp.New(gcp.Config{Projects: []string{"p1"}, CredentialsFile: wif}); err != nil {
		t.Errorf("workload identity federation file: %v", err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", wif)
	if _, err := gcp.New(gcp.Config{Projects: []string{"p1"}}); err != nil {
		t.Errorf("application default credentials: %v", err)
	}
	for file, want := range map[string]string{filepath.Join(dir, "missing.json"): "credentials file", odd: `unsupported type "gdch_service_account"`} {
		_, err := gcp.New(gcp.Config{Projects: []string{"p1"}, CredentialsFile: file})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error about %s", filepath.Base(file), err, want)
		}
	}
}

// TestConfigErrorsAllAtOnce checks that New reports every configuration
// problem in one error.
func TestConfigErrorsAllAtOnce(t *testing.T) {
	_, err := gcp.New(gcp.Config{Organization: "acme", Folders: []string{"folders/x1"}, Projects: []string{"a/b"}, OwnerPattern: "owner:"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`organization "acme"`, `folder "x1"`, `project "a/b"`, "capture group"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := gcp.New(gcp.Config{NoAuth: true}); err == nil || !strings.Contains(err.Error(), "no scope") {
		t.Errorf("no scope: %v", err)
	}
}
