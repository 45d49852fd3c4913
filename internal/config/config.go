// Package config reads nhiscan.yaml: where the database and catalog are,
// which providers to collect and how to reach them, and threshold overrides.
// Decoding is strict; NHISCAN_* environment variables override the file.
// Secrets never appear inline: credentials come from each SDK's standard
// chain or from *_file settings that name a file holding them.
package config

import (
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
)

// Config is the whole of nhiscan.yaml.
type Config struct {
	// Database is the SQLite file (default nhiscan.db).
	Database string `yaml:"database"`
	// Catalog lists catalog files or directories.
	Catalog []string `yaml:"catalog"`
	// LogFormat is text or json.
	LogFormat string `yaml:"log_format"`
	// Thresholds override the catalog's defaults.
	Thresholds Thresholds `yaml:"thresholds"`
	Providers  Providers  `yaml:"providers"`
	// Campaigns and SMTP configure recertification campaigns and their
	// mail (campaigns.go); SMTP is nil when not configured.
	Campaigns Campaigns `yaml:"campaigns"`
	SMTP      *SMTP     `yaml:"smtp"`
	// File is the path the configuration was read from ("" when none).
	File string `yaml:"-"`
}

// Thresholds override the catalog defaults; zero means "keep".
type Thresholds struct {
	DormantAfter     Duration `yaml:"dormant_after"`
	MaxCredentialAge Duration `yaml:"max_credential_age"`
	NeverUsedGrace   Duration `yaml:"never_used_grace"`
	ExpiringSoon     Duration `yaml:"expiring_soon"`
	UsageFreshness   Duration `yaml:"usage_freshness"`
}

// Duration is a time.Duration written as Go syntax or with d/w suffixes.
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d the way the file would write it ("90d", "36h").
func (d Duration) String() string { return duration.Format(time.Duration(d)) }

// Providers holds one optional section per provider.
type Providers struct {
	AWS    *AWS    `yaml:"aws"`
	Azure  *Azure  `yaml:"azure"`
	GCP    *GCP    `yaml:"gcp"`
	GitHub *GitHub `yaml:"github"`
}

// AWS configures the AWS collector.
type AWS struct {
	// Accounts lists account ids to scan; empty with Organization false
	// means the account of the credentials.
	Accounts []string `yaml:"accounts"`
	// Organization scans every ACTIVE account of the AWS Organization
	// (run from the management or a delegated-admin account).
	Organization bool `yaml:"organization"`
	// RoleName is assumed in each account (default OrganizationAccountAccessRole
	// is NOT assumed: set it, e.g. nhiscan-readonly).
	RoleName string `yaml:"role_name"`
	// ExternalIDFile names a file holding the AssumeRole external id.
	ExternalIDFile string `yaml:"external_id_file"`
	// TrustedAccounts are accounts outside the scan that trust policies may
	// name without being flagged as external.
	TrustedAccounts []string `yaml:"trusted_accounts"`
	Region          string   `yaml:"region"`
	// Partition is aws (default), aws-us-gov or aws-cn.
	Partition string `yaml:"partition"`
	// Profile selects a shared-config profile; empty uses the default chain.
	Profile string `yaml:"profile"`
	// SharedCredentialsFile overrides the SDK's shared credentials file.
	SharedCredentialsFile string `yaml:"shared_credentials_file"`
	// Endpoint overrides the IAM/STS/Organizations endpoint (GovCloud,
	// China, VPC endpoints, a local fake).
	Endpoint    string   `yaml:"endpoint"`
	Concurrency int      `yaml:"concurrency"`
	OwnerTags   []string `yaml:"owner_tags"`
}

// Azure configures the Entra and Azure Resource Manager collector.
type Azure struct {
	TenantID      string   `yaml:"tenant_id"`
	Subscriptions []string `yaml:"subscriptions"`
	// Cloud is public, usgovernment or china.
	Cloud string `yaml:"cloud"`
	// ClientID with ClientSecretFile or ClientCertificateFile; otherwise
	// azidentity's default chain (environment, workload identity, managed
	// identity, Azure CLI).
	ClientID              string `yaml:"client_id"`
	ClientSecretFile      string `yaml:"client_secret_file"`
	ClientCertificateFile string `yaml:"client_certificate_file"`
	GraphEndpoint         string `yaml:"graph_endpoint"`
	ARMEndpoint           string `yaml:"arm_endpoint"`
	// AuthorityHost overrides the cloud's Entra authority host.
	AuthorityHost string   `yaml:"authority_host"`
	Concurrency   int      `yaml:"concurrency"`
	OwnerTags     []string `yaml:"owner_tags"`
}

// GCP configures the Google Cloud collector.
type GCP struct {
	Organization string   `yaml:"organization"`
	Folders      []string `yaml:"folders"`
	Projects     []string `yaml:"projects"`
	// CredentialsFile is a service-account key or external-account (WIF)
	// file; empty uses Application Default Credentials.
	CredentialsFile string `yaml:"credentials_file"`
	// QuotaProject is billed for API quota (x-goog-user-project).
	QuotaProject string   `yaml:"quota_project"`
	Endpoint     string   `yaml:"endpoint"`
	Concurrency  int      `yaml:"concurrency"`
	OwnerLabels  []string `yaml:"owner_labels"`
	// OwnerLabelDomain turns label values into addresses: a project label
	// owner=alice_nguyen becomes alice.nguyen@<domain>.
	OwnerLabelDomain string `yaml:"owner_label_domain"`
	// DelegatedClientIDs are the OAuth client ids with Workspace
	// domain-wide delegation: their service accounts' usage is a blind spot
	// ("usage unknown"), never "unused".
	DelegatedClientIDs []string `yaml:"delegated_client_ids"`
}

// GitHub configures the GitHub collector.
type GitHub struct {
	Organizations []string `yaml:"organizations"`
	// App authentication (preferred): AppID and PrivateKeyFile, with an
	// optional InstallationID (looked up when 0; only with one
	// organization). Otherwise TokenFile (or GITHUB_TOKEN). A TokenFile
	// beside an App is used only for SAML credential authorizations.
	AppID          int64  `yaml:"app_id"`
	InstallationID int64  `yaml:"installation_id"`
	PrivateKeyFile string `yaml:"private_key_file"`
	TokenFile      string `yaml:"token_file"`
	// SkipSAMLAuthorizations says the organizations do not use SAML SSO.
	SkipSAMLAuthorizations bool `yaml:"skip_saml_authorizations"`
	// BaseURL points at GitHub Enterprise Server (https://ghe.example/api/v3/)
	// or a local fake.
	BaseURL string `yaml:"base_url"`
	// GraphQLURL overrides the GraphQL endpoint derived from BaseURL.
	GraphQLURL       string   `yaml:"graphql_url"`
	Concurrency      int      `yaml:"concurrency"`
	CloudSecretNames []string `yaml:"cloud_secret_patterns"`
}

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{Database: "nhiscan.db", LogFormat: "text"}
}
