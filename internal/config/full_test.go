package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// TestFullExample loads testdata/full.yaml, the example documented in
// docs/configuration.md, and checks every field.
func TestFullExample(t *testing.T) {
	got, err := config.Load("testdata/full.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	rel := func(p string) string { return filepath.Join("testdata", p) }
	yes := true
	at := func(line, col int) strictyaml.Pos {
		return strictyaml.Pos{File: "testdata/full.yaml", Line: line, Col: col}
	}
	want := config.Config{
		Database:  rel("state/nhiscan.db"),
		Catalog:   []string{rel("catalog"), "/etc/nhiscan/exceptions.yaml"},
		LogFormat: "json",
		Thresholds: config.Thresholds{
			DormantAfter:     60 * duration.Day,
			MaxCredentialAge: 12 * duration.Week,
			NeverUsedGrace:   7 * duration.Day,
			ExpiringSoon:     336 * time.Hour,
			UsageFreshness:   36 * time.Hour,
		},
		Providers: config.Providers{
			AWS: &config.AWS{
				Accounts: []string{"111111111111"}, Organization: true, RoleName: "nhiscan-readonly",
				ExternalIDFile: rel("secrets/aws-external-id"), TrustedAccounts: []string{"999999999999"},
				Region: "us-east-1", Partition: "aws", Profile: "security-audit",
				SharedCredentialsFile: rel("secrets/aws-credentials"),
				Endpoint:              "https://iam.us-east-1.amazonaws.com", Concurrency: 16, CallTimeout: 90 * time.Second,
				Retries: config.Retries{MaxRetries: 7, RetryBaseDelay: time.Second, MaxRetryDelay: 20 * time.Second},
			},
			Azure: &config.Azure{
				TenantID:      "72f988bf-86f1-41af-91ab-2d7cd011db47",
				Subscriptions: []string{"0b1f6471-1bf0-4dda-aec3-cb9272f09590"},
				Cloud:         "public", ClientID: "3c5b7f10-8d2e-4a6b-9f1c-2e4d6a8b0c1d",
				ClientCertificateFile: rel("secrets/azure-client.pem"),
				GraphEndpoint:         "https://graph.microsoft.com", ARMEndpoint: "https://management.azure.com",
				AuthorityHost: "https://login.microsoftonline.com/", Concurrency: 8, CallTimeout: 45 * time.Second,
				SignInReports: &yes,
			},
			GCP: &config.GCP{
				Organization: "123456789012", Folders: []string{"folders/456"}, Projects: []string{"acme-data-prod"},
				CredentialsFile: rel("secrets/gcp-wif.json"), QuotaProject: "acme-security",
				Endpoint: "https://cloudasset.googleapis.com/", Concurrency: 8,
				OwnerLabelDomain: "acme.example", DelegatedClientIDs: []string{"102938475610293847561"},
			},
			GitHub: &config.GitHub{
				Organizations: []string{"acme", "acme-labs"}, AppID: 123456,
				PrivateKeyFile: rel("secrets/github-app.pem"), TokenFile: rel("secrets/github-saml-token"),
				BaseURL: "https://api.github.com/", GraphQLURL: "https://api.github.com/graphql", Concurrency: 10,
				CallTimeout:         90 * time.Second,
				CloudSecretPatterns: []string{"^AWS_", "AZURE_CLIENT_SECRET", "GCP_.*KEY"},
			},
		},
		Files: []config.FileSetting{
			{Provider: "aws", Key: "providers.aws.external_id_file", At: at(23, 23), Path: rel("secrets/aws-external-id")},
			{Provider: "aws", Key: "providers.aws.shared_credentials_file", At: at(28, 30), Path: rel("secrets/aws-credentials")},
			{Provider: "azure", Key: "providers.azure.client_certificate_file", At: at(42, 30), Path: rel("secrets/azure-client.pem")},
			{Provider: "gcp", Key: "providers.gcp.credentials_file", At: at(54, 23), Path: rel("secrets/gcp-wif.json")},
			{Provider: "github", Key: "providers.github.private_key_file", At: at(64, 23), Path: rel("secrets/github-app.pem")},
			{Provider: "github", Key: "providers.github.token_file", At: at(65, 17), Path: rel("secrets/github-saml-token")},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// TestNoFile: without a file, Load returns the defaults (plus environment).
func TestNoFile(t *testing.T) {
	got, err := config.Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(config.Config{Database: "nhiscan.db", LogFormat: "text"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := config.Load("testdata/does-not-exist.yaml", nil); err == nil {
		t.Error("missing file loaded")
	}
}

// TestRelativePaths: paths in the file are relative to the file's
// directory; absolute paths and paths from the environment are kept.
func TestRelativePaths(t *testing.T) {
	const src = `database: db/nhiscan.db
catalog: [catalog, ../shared/catalog.yaml, /abs/catalog]
providers:
  github:
    organizations: [acme]
    app_id: 1
    private_key_file: keys/app.pem
    token_file: /run/secrets/token
  gcp:
    projects: [p1]
    credentials_file: ./wif.json
`
	dir := filepath.Join("etc", "nhiscan")
	got, err := config.Parse(filepath.Join(dir, "nhiscan.yaml"), []byte(src), env(map[string]string{
		"NHISCAN_AZURE_TENANT_ID":          "acme.example",
		"NHISCAN_AZURE_CLIENT_ID":          "3c5b7f10-8d2e-4a6b-9f1c-2e4d6a8b0c1d",
		"NHISCAN_AZURE_CLIENT_SECRET_FILE": "relative/to/cwd",
	}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"database", got.Database, "etc/nhiscan/db/nhiscan.db"},
		{"catalog[0]", got.Catalog[0], "etc/nhiscan/catalog"},
		{"catalog[1]", got.Catalog[1], "etc/shared/catalog.yaml"},
		{"catalog[2]", got.Catalog[2], "/abs/catalog"},
		{"private_key_file", got.Providers.GitHub.PrivateKeyFile, "etc/nhiscan/keys/app.pem"},
		{"token_file", got.Providers.GitHub.TokenFile, "/run/secrets/token"},
		{"credentials_file", got.Providers.GCP.CredentialsFile, "etc/nhiscan/wif.json"},
		{"client_secret_file (env)", got.Providers.Azure.ClientSecretFile, "relative/to/cwd"},
	}
	for _, c := range checks {
		if filepath.ToSlash(c.got) != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func readDoc(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestFullExampleIsDocumented: docs/configuration.md shows testdata/full.yaml
// verbatim, so the documented example is the tested one.
func TestFullExampleIsDocumented(t *testing.T) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readDoc(t), "```yaml\n"+string(full)+"```\n") {
		t.Error("docs/configuration.md does not contain testdata/full.yaml verbatim in a yaml block")
	}
}
