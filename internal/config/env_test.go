package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/strictyaml"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// TestEnvOverrides: NHISCAN_* variables override the file, create provider
// sections, and are validated like file values.
func TestEnvOverrides(t *testing.T) {
	no := false
	const src = `database: from-file.db
log_format: text
thresholds:
  dormant_after: 30d
providers:
  aws:
    accounts: ["111111111111"]
  github:
    organizations: [file-org]
    token_file: tok
`
	got, err := config.Parse("c.yaml", []byte(src), env(map[string]string{
		"NHISCAN_DATABASE":                   "/var/lib/nhiscan.db",
		"NHISCAN_CATALOG":                    "a.yaml, dir/",
		"NHISCAN_LOG_FORMAT":                 "json",
		"NHISCAN_THRESHOLDS_DORMANT_AFTER":   "45d",
		"NHISCAN_THRESHOLDS_USAGE_FRESHNESS": "12h",
		"NHISCAN_AWS_ACCOUNTS":               "222222222222,333333333333",
		"NHISCAN_AWS_ROLE_NAME":              "nhiscan-readonly",
		"NHISCAN_AWS_ENDPOINT":               "http://127.0.0.1:4566",
		"NHISCAN_AWS_CALL_TIMEOUT":           "2m",
		"NHISCAN_AZURE_TENANT_ID":            "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"NHISCAN_AZURE_GRAPH_ENDPOINT":       "http://127.0.0.1:9001",
		"NHISCAN_AZURE_ARM_ENDPOINT":         "http://127.0.0.1:9002",
		"NHISCAN_AZURE_CALL_TIMEOUT":         "90s",
		"NHISCAN_AZURE_SIGN_IN_REPORTS":      "false",
		"NHISCAN_GCP_ORGANIZATION":           "organizations/42",
		"NHISCAN_GCP_PROJECTS":               "p1,p2",
		"NHISCAN_GCP_ENDPOINT":               "http://127.0.0.1:9003/",
		"NHISCAN_GITHUB_ORGANIZATIONS":       "acme,acme-labs",
		"NHISCAN_GITHUB_BASE_URL":            "http://127.0.0.1:9004/api/v3/",
		"NHISCAN_GITHUB_TOKEN_FILE":          "/run/secrets/gh",
		"NHISCAN_GITHUB_CALL_TIMEOUT":        "45s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		Database:   "/var/lib/nhiscan.db",
		Catalog:    []string{"a.yaml", "dir/"},
		LogFormat:  "json",
		Thresholds: config.Thresholds{DormantAfter: 45 * 24 * time.Hour, UsageFreshness: 12 * time.Hour},
		Providers: config.Providers{
			AWS:    &config.AWS{Accounts: []string{"222222222222", "333333333333"}, RoleName: "nhiscan-readonly", Endpoint: "http://127.0.0.1:4566", CallTimeout: 2 * time.Minute},
			Azure:  &config.Azure{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", GraphEndpoint: "http://127.0.0.1:9001", ARMEndpoint: "http://127.0.0.1:9002", CallTimeout: 90 * time.Second, SignInReports: &no},
			GCP:    &config.GCP{Organization: "organizations/42", Projects: []string{"p1", "p2"}, Endpoint: "http://127.0.0.1:9003/"},
			GitHub: &config.GitHub{Organizations: []string{"acme", "acme-labs"}, BaseURL: "http://127.0.0.1:9004/api/v3/", TokenFile: "/run/secrets/gh", CallTimeout: 45 * time.Second},
		},
		Files: []config.FileSetting{{Provider: "github", Key: "providers.github.token_file", At: strictyaml.Pos{File: "NHISCAN_GITHUB_TOKEN_FILE"}, Path: "/run/secrets/gh"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

// TestEnvWithoutFile: the environment alone can configure a provider.
func TestEnvWithoutFile(t *testing.T) {
	got, err := config.Load("", env(map[string]string{"NHISCAN_GITHUB_ORGANIZATIONS": "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Providers.GitHub == nil || len(got.Providers.GitHub.Organizations) != 1 || got.Providers.AWS != nil {
		t.Errorf("providers = %+v", got.Providers)
	}
}

// TestEnvErrors: a bad environment value is an error naming the variable,
// reported together with the file's errors.
func TestEnvErrors(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte("log_format: yaml\n"), env(map[string]string{
		"NHISCAN_THRESHOLDS_EXPIRING_SOON": "soon",
		"NHISCAN_AWS_ACCOUNTS":             "111111111111,,abc",
		"NHISCAN_AWS_ORGANIZATION":         "maybe",
		"NHISCAN_AZURE_ARM_ENDPOINT":       "localhost:9002",
		"NHISCAN_GITHUB_BASE_URL":          "https://ghe.example/api/v3/",
	}))
	var es *config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T %v, want *config.Errors", err, err)
	}
	want := strings.Join([]string{
		`NHISCAN_AWS_ACCOUNTS: account id "abc" must be 12 digits`,
		`NHISCAN_AWS_ACCOUNTS: aws provider has no role_name: it is required with organization: true or more than one account (the role nhiscan assumes in each account, for example nhiscan-readonly)`,
		`NHISCAN_AWS_ACCOUNTS: empty entry in comma-separated list "111111111111,,abc"`,
		`NHISCAN_AWS_ORGANIZATION: must be true or false, got "maybe"`,
		`NHISCAN_AZURE_ARM_ENDPOINT: arm_endpoint "localhost:9002" must be an absolute http or https URL (for example https://api.example.com/)`,
		`NHISCAN_AZURE_ARM_ENDPOINT: azure provider has no tenant_id (the Entra tenant id or its primary domain)`,
		`NHISCAN_GITHUB_BASE_URL: github provider has no organizations; list at least one`,
		`NHISCAN_THRESHOLDS_EXPIRING_SOON: expiring_soon: bad duration "soon": expected a number at "soon" (for example 90d, 2w, 36h)`,
		`c.yaml:1:13: unknown log_format "yaml" (use text or json)`,
	}, "\n")
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestErrorsAreNotCatalogErrors: the CLI tells configuration problems from
// catalog problems by type.
func TestErrorsAreNotCatalogErrors(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte("log_format: yaml\n"), nil)
	var ce *catalog.Errors
	if errors.As(err, &ce) {
		t.Error("configuration errors match *catalog.Errors")
	}
	var es *config.Errors
	if !errors.As(err, &es) || len(*es) != 1 || (*es)[0].Line != 1 {
		t.Errorf("got %v", err)
	}
}
