// Package config reads nhiscan.yaml: where the database and catalog are,
// which providers to collect and how to reach them, and threshold overrides.
// Decoding is strict; NHISCAN_* environment variables override the file.
// Secrets never appear inline: credentials come from each SDK's standard
// chain or from *_file settings that name a file holding them. Facts about
// the organisation (who owns what, which tag keys name an owner) belong to
// the catalog, not here.
package config

import "time"

// Config is the whole of nhiscan.yaml. Field names follow the file's keys.
type Config struct {
	// Database is the SQLite file (default nhiscan.db), or a PostgreSQL
	// DSN (postgres://…) from database, database_file or NHISCAN_DATABASE
	// (database.go). A DSN may carry a password (from a file or the
	// environment): print it only through store.RedactDSN.
	Database string
	// Catalog lists catalog files or directories.
	Catalog []string
	// LogFormat is text or json.
	LogFormat  string
	Thresholds Thresholds
	Providers  Providers
	// Campaigns and SMTP configure recertification campaigns and their
	// mail (campaigns.go); SMTP is nil when not configured.
	Campaigns Campaigns
	SMTP      *SMTP
	// Revoke configures the revocation workflow (revoke.go).
	Revoke Revoke

	// Files are the *_file settings given, in the order of the provider
	// sections, with where each was set (see CheckFiles).
	Files []FileSetting
	// Serve configures `nhiscan serve` (serve.go).
	Serve Serve
	// Fleet configures `nhiscan worker` (fleet.go).
	Fleet Fleet
	// Schedules, Webhook and Metrics configure serve's service mode
	// (schedules.go); Webhook.URLFile is empty when no webhook is set.
	Schedules Schedules
	Webhook   Webhook
	Metrics   Metrics
}

// Thresholds override the catalog defaults of the same names; zero means
// "keep the catalog's".
type Thresholds struct {
	DormantAfter     time.Duration
	MaxCredentialAge time.Duration
	NeverUsedGrace   time.Duration
	ExpiringSoon     time.Duration
	UsageFreshness   time.Duration
}

// Providers holds one optional section per provider.
type Providers struct {
	AWS    *AWS
	Azure  *Azure
	GCP    *GCP
	GitHub *GitHub
}

// AWS configures the AWS collector.
type AWS struct {
	// Accounts lists account ids to scan; empty with Organization false
	// means the account of the credentials.
	Accounts []string
	// Organization scans every ACTIVE account of the AWS Organization
	// (run from the management or a delegated-admin account).
	Organization bool
	// RoleName is assumed in each account; required with Organization or
	// more than one account (for example nhiscan-readonly).
	RoleName string
	// ExternalIDFile names a file holding the AssumeRole external id.
	ExternalIDFile string
	// TrustedAccounts are accounts outside the scan that trust policies may
	// name without being flagged as external.
	TrustedAccounts []string
	Region          string
	// Partition is aws (default), aws-us-gov or aws-cn.
	Partition string
	// Profile selects a shared-config profile; empty uses the default chain.
	Profile string
	// SharedCredentialsFile overrides the SDK's shared credentials file.
	SharedCredentialsFile string
	// Endpoint overrides the IAM/STS/Organizations endpoint (GovCloud,
	// China, VPC endpoints, a local fake).
	Endpoint    string
	Concurrency int
	// CallTimeout bounds each HTTP attempt; 0 is the collector's default.
	CallTimeout time.Duration
	// Retries tune the collector\'s retries (zero: its defaults).
	Retries
	// LastAccessed selects the identities whose service last accessed data
	// (Access Advisor) is read: outside-baseline (default: privileged or
	// outside their role's baseline), privileged, all or off.
	// LastAccessedMaxJobs (jobs per account), LastAccessedRate (calls per
	// second per account) and LastAccessedTimeout (the wait for one
	// account's jobs) bound it; zero means the collector's default.
	LastAccessed        string
	LastAccessedMaxJobs int
	LastAccessedRate    float64
	LastAccessedTimeout time.Duration
}

// Azure configures the Entra and Azure Resource Manager collector.
type Azure struct {
	TenantID      string
	Subscriptions []string
	// Cloud is public, usgovernment or china.
	Cloud string
	// ClientID with ClientSecretFile or ClientCertificateFile; otherwise
	// azidentity's default chain (environment, workload identity, managed
	// identity, Azure CLI).
	ClientID              string
	ClientSecretFile      string
	ClientCertificateFile string
	GraphEndpoint         string
	ARMEndpoint           string
	// AuthorityHost overrides the cloud's Entra authority host.
	AuthorityHost string
	Concurrency   int
	// CallTimeout bounds each HTTP attempt (0: the collector's default).
	CallTimeout time.Duration
	// Retries tune the collector\'s retries (zero: its defaults).
	Retries
	// SignInReports turns the beta sign-in activity reports on or off;
	// nil means by cloud (on in public, off in usgovernment and china,
	// where they do not exist).
	SignInReports *bool
}

// GCP configures the Google Cloud collector.
type GCP struct {
	Organization string
	Folders      []string
	Projects     []string
	// CredentialsFile is a service-account key or external-account (WIF)
	// file; empty uses Application Default Credentials.
	CredentialsFile string
	// QuotaProject is billed for API quota (x-goog-user-project).
	QuotaProject string
	Endpoint     string
	Concurrency  int
	// OwnerLabelDomain turns owner label values into addresses: a project
	// label owner=alice_nguyen becomes alice.nguyen@<domain>.
	OwnerLabelDomain string
	// DelegatedClientIDs are the OAuth client ids with Workspace
	// domain-wide delegation: their service accounts' usage is a blind spot
	// ("usage unknown"), never "unused".
	DelegatedClientIDs []string
	// CallTimeout bounds each API call attempt (0: the collector's 60s).
	CallTimeout time.Duration
	// Retries tune the collector\'s retries (zero: its defaults).
	Retries
}

// GitHub configures the GitHub collector.
type GitHub struct {
	Organizations []string
	// App authentication (preferred): AppID and PrivateKeyFile, with an
	// optional InstallationID (looked up when 0; only with one
	// organization). Otherwise TokenFile (or GITHUB_TOKEN). A TokenFile
	// beside an App is used only for SAML credential authorizations.
	AppID          int64
	InstallationID int64
	PrivateKeyFile string
	TokenFile      string
	// SkipSAMLAuthorizations says the organizations do not use SAML SSO.
	SkipSAMLAuthorizations bool
	// BaseURL points at GitHub Enterprise Server (https://ghe.example/api/v3/)
	// or a local fake.
	BaseURL string
	// GraphQLURL overrides the GraphQL endpoint derived from BaseURL.
	GraphQLURL  string
	Concurrency int
	// CallTimeout bounds one HTTP attempt, answer included (0: the
	// collector's default, 60s); a call that runs out of it is a timeout gap.
	CallTimeout time.Duration
	// Retries tune the collector\'s retries (zero: its defaults).
	Retries
	// CloudSecretPatterns are regular expressions over Actions secret
	// names that hold long-lived cloud credentials.
	CloudSecretPatterns []string
}

// Retries are the retry settings every provider has, with the same names
// and meaning; each collector maps them to its SDK's own retry mechanism
// (docs/configuration.md).
type Retries struct {
	// MaxRetries is how often a throttled or failed call is retried after
	// its first attempt: 0 is the collector's default, -1 never (the file
	// says max_retries: 0).
	MaxRetries int
	// RetryBaseDelay is the first wait between retries (0: the
	// collector's default).
	RetryBaseDelay time.Duration
	// MaxRetryDelay caps each wait between retries (0: the collector's
	// default).
	MaxRetryDelay time.Duration
}

// defaults is the configuration used when no file is given.
func defaults() Config {
	return Config{Database: "nhiscan.db", LogFormat: "text"}
}
