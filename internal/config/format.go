package config

import "github.com/nhiscan/nhiscan/internal/strictyaml"

// The nhiscan.yaml file format, key by key. These structs hold raw values
// with positions; load.go applies the environment, validates them and
// builds a Config. docs/configuration.md documents every key.

type (
	str = strictyaml.Str
	pos = strictyaml.Pos
)

type fileConfig struct {
	strictyaml.Meta
	Database     str             `yaml:"database"`
	DatabaseFile str             `yaml:"database_file"`
	Catalog      []str           `yaml:"catalog" what:"catalog path"`
	LogFormat    str             `yaml:"log_format"`
	Thresholds   *fileThresholds `yaml:"thresholds" what:"thresholds"`
	Providers    *fileProviders  `yaml:"providers" what:"providers"`
	Campaigns    *fileCampaigns  `yaml:"campaigns" what:"campaigns"`
	SMTP         *fileSMTP       `yaml:"smtp" what:"smtp"`
	Revoke       *fileRevoke     `yaml:"revoke" what:"revoke"`
	Serve        *fileServe      `yaml:"serve" what:"serve"`
	Fleet        *fileFleet      `yaml:"fleet" what:"fleet"`
	Schedules    *fileSchedules  `yaml:"schedules" what:"schedules"`
	Webhook      *fileWebhook    `yaml:"webhook" what:"webhook"`
	Metrics      *fileMetrics    `yaml:"metrics" what:"metrics"`
}

type fileThresholds struct {
	strictyaml.Meta
	DormantAfter     str `yaml:"dormant_after"`
	MaxCredentialAge str `yaml:"max_credential_age"`
	NeverUsedGrace   str `yaml:"never_used_grace"`
	ExpiringSoon     str `yaml:"expiring_soon"`
	UsageFreshness   str `yaml:"usage_freshness"`
}

type fileProviders struct {
	strictyaml.Meta
	AWS    *fileAWS    `yaml:"aws" what:"aws provider"`
	Azure  *fileAzure  `yaml:"azure" what:"azure provider"`
	GCP    *fileGCP    `yaml:"gcp" what:"gcp provider"`
	GitHub *fileGitHub `yaml:"github" what:"github provider"`
}

type fileAWS struct {
	strictyaml.Meta
	Accounts              []str `yaml:"accounts" what:"account id"`
	Organization          *bool `yaml:"organization"`
	RoleName              str   `yaml:"role_name"`
	ExternalIDFile        str   `yaml:"external_id_file"`
	TrustedAccounts       []str `yaml:"trusted_accounts" what:"trusted account id"`
	Region                str   `yaml:"region"`
	Partition             str   `yaml:"partition"`
	Profile               str   `yaml:"profile"`
	SharedCredentialsFile str   `yaml:"shared_credentials_file"`
	Endpoint              str   `yaml:"endpoint"`
	Concurrency           *int  `yaml:"concurrency"`
	CallTimeout           str   `yaml:"call_timeout"`
	MaxRetries            *int  `yaml:"max_retries"`
	RetryBaseDelay        str   `yaml:"retry_base_delay"`
	MaxRetryDelay         str   `yaml:"max_retry_delay"`
	// Service last accessed data (Access Advisor, issue 18).
	LastAccessed        str `yaml:"last_accessed"`
	LastAccessedMaxJobs str `yaml:"last_accessed_max_jobs"`
	LastAccessedRate    str `yaml:"last_accessed_rate"`
	LastAccessedTimeout str `yaml:"last_accessed_timeout"`
}

type fileAzure struct {
	strictyaml.Meta
	TenantID              str   `yaml:"tenant_id"`
	Subscriptions         []str `yaml:"subscriptions" what:"subscription id"`
	Cloud                 str   `yaml:"cloud"`
	ClientID              str   `yaml:"client_id"`
	ClientSecretFile      str   `yaml:"client_secret_file"`
	ClientCertificateFile str   `yaml:"client_certificate_file"`
	GraphEndpoint         str   `yaml:"graph_endpoint"`
	ARMEndpoint           str   `yaml:"arm_endpoint"`
	AuthorityHost         str   `yaml:"authority_host"`
	Concurrency           *int  `yaml:"concurrency"`
	CallTimeout           str   `yaml:"call_timeout"`
	MaxRetries            *int  `yaml:"max_retries"`
	RetryBaseDelay        str   `yaml:"retry_base_delay"`
	MaxRetryDelay         str   `yaml:"max_retry_delay"`
	SignInReports         *bool `yaml:"sign_in_reports"`
}

type fileGCP struct {
	strictyaml.Meta
	Organization       str   `yaml:"organization"`
	Folders            []str `yaml:"folders" what:"folder id"`
	Projects           []str `yaml:"projects" what:"project id"`
	CredentialsFile    str   `yaml:"credentials_file"`
	QuotaProject       str   `yaml:"quota_project"`
	Endpoint           str   `yaml:"endpoint"`
	Concurrency        *int  `yaml:"concurrency"`
	OwnerLabelDomain   str   `yaml:"owner_label_domain"`
	DelegatedClientIDs []str `yaml:"delegated_client_ids" what:"client id"`
	CallTimeout        str   `yaml:"call_timeout"`
	MaxRetries         *int  `yaml:"max_retries"`
	RetryBaseDelay     str   `yaml:"retry_base_delay"`
	MaxRetryDelay      str   `yaml:"max_retry_delay"`
}

type fileGitHub struct {
	strictyaml.Meta
	Organizations          []str `yaml:"organizations" what:"organization"`
	AppID                  str   `yaml:"app_id"`
	InstallationID         str   `yaml:"installation_id"`
	PrivateKeyFile         str   `yaml:"private_key_file"`
	TokenFile              str   `yaml:"token_file"`
	SkipSAMLAuthorizations *bool `yaml:"skip_saml_authorizations"`
	BaseURL                str   `yaml:"base_url"`
	GraphQLURL             str   `yaml:"graphql_url"`
	Concurrency            *int  `yaml:"concurrency"`
	CallTimeout            str   `yaml:"call_timeout"`
	MaxRetries             *int  `yaml:"max_retries"`
	RetryBaseDelay         str   `yaml:"retry_base_delay"`
	MaxRetryDelay          str   `yaml:"max_retry_delay"`
	CloudSecretPatterns    []str `yaml:"cloud_secret_patterns" what:"cloud secret pattern"`
}

// movedKeys are keys an earlier nhiscan read here, with where the setting
// lives now. The decoder reports them at their position.
var movedKeys = map[string]string{
	"owner_tags":   ownerKeysMoved,
	"owner_labels": ownerKeysMoved,
}

const ownerKeysMoved = "owner tag and label keys are set once, for every provider, in the catalog's defaults.owner_tag_keys (docs/catalog.md); remove it here"
