// Package aws collects the non-human identities of one AWS account, an
// explicit list of accounts or a whole AWS Organization: IAM users and
// roles, their access keys and service-specific credentials, policy grants
// with privilege levels, usage from the credential report and RoleLastUsed,
// owner hints from tags, and trust-policy risks. The Collector reads
// credential metadata only: it never requests, stores or logs a secret
// value, and it cannot change anything. The credential controls (deactivate,
// reactivate and delete access keys, quarantine roles and users) are a
// separate type, Controls, built with NewControls.
package aws

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Defaults.
const (
	DefaultConcurrency        = 16
	DefaultRegion             = "us-east-1"
	DefaultMaxRetries         = 7
	DefaultRetryBaseDelay     = time.Second
	DefaultMaxRetryDelay      = 20 * time.Second
	DefaultReportPollInterval = 2 * time.Second
	DefaultReportTimeout      = 5 * time.Minute
	DefaultAccountTimeout     = 15 * time.Minute
	DefaultCallTimeout        = 60 * time.Second
	DefaultSessionName        = "nhiscan"
	// QuarantinePolicy is the inline deny-all policy Controls.Act puts on a
	// role or user to disable it.
	QuarantinePolicy = "nhiscan-quarantine"
	// RevokeSessionsPolicy is the inline policy, named as the console names
	// it, that denies sessions issued before the quarantine.
	RevokeSessionsPolicy = "AWSRevokeOlderSessions"
)

// Config configures a Collector or a Controls. The zero value scans the
// account of the SDK's default credential chain.
type Config struct {
	// Accounts lists the account ids to scan. With Organization false and
	// no Accounts, the account of the base credentials is scanned (found
	// with sts:GetCallerIdentity).
	Accounts []string
	// Organization lists the ACTIVE accounts of the AWS Organization with
	// organizations:ListAccounts (from the management or a delegated
	// administrator account) and scans each, together with Accounts.
	Organization bool
	// RoleName is the role assumed in each scanned account. Required when
	// more than one account is scanned; empty means the base credentials
	// are used directly.
	RoleName string
	// ExternalID is passed to sts:AssumeRole when set.
	ExternalID string
	// TrustedAccounts are accounts outside the scan that role trust
	// policies may name without being flagged as external.
	TrustedAccounts []string

	// Profile and SharedCredentialsFile select shared-config credentials;
	// Credentials overrides the SDK's default chain (tests, demo). No
	// secret is ever configured inline.
	Profile               string
	SharedCredentialsFile string
	Credentials           aws.CredentialsProvider
	// Region signs requests; default us-east-1. Partition builds ARNs:
	// aws (default), aws-us-gov, aws-cn.
	Region    string
	Partition string
	// EndpointURL overrides the endpoint of every client (a local fake,
	// a VPC endpoint, GovCloud).
	EndpointURL string
	// HTTPClient replaces the SDK's client (tests, the demo, a proxy). It
	// is used through a copy whose Timeout is at most CallTimeout.
	HTTPClient *http.Client

	// Concurrency is how many accounts are collected at once; default 16.
	Concurrency int
	// MaxRetries is how often a throttled or failed call is retried after
	// its first attempt (default 7; negative: never); RetryBaseDelay is the
	// first wait of the exponential backoff between retries (default 1s);
	// MaxRetryDelay caps each wait (default 20s). They configure the SDK's
	// standard retryer (MaxAttempts is MaxRetries+1), which honours
	// throttling errors and x-amz-retry-after.
	MaxRetries     int
	RetryBaseDelay time.Duration
	MaxRetryDelay  time.Duration
	// ReportPollInterval and ReportTimeout bound the wait for the
	// credential report; defaults 2s and 5m.
	ReportPollInterval time.Duration
	ReportTimeout      time.Duration
	// AccountTimeout bounds the collection of one account; an account
	// that takes longer becomes a timeout gap. Default 15m.
	AccountTimeout time.Duration
	// CallTimeout bounds each HTTP attempt (the SDK retries a timed-out
	// attempt like a throttled one), so that a hung API becomes a timeout
	// gap instead of hanging the scan. Default 60s.
	CallTimeout time.Duration

	// LastAccessed selects the identities whose service and action last
	// accessed data (Access Advisor) is read, one job each:
	// LastAccessedOutsideBaseline (default), LastAccessedPrivileged,
	// LastAccessedAll or LastAccessedOff.
	LastAccessed string
	// OutsideBaseline reports whether an identity holds a grant outside
	// its catalog role's baseline (the scan builds it from the catalog);
	// nil means none does.
	OutsideBaseline func(*nhi.Identity) bool
	// LastAccessedMaxJobs bounds the jobs per account (default 100; the
	// identities over it keep their grants' use unknown);
	// LastAccessedRate is how many Access Advisor calls per second one
	// account makes (default 5); LastAccessedTimeout bounds the wait for
	// one account's jobs (default 3m: a job still running then is a
	// timeout gap for its identity); LastAccessedPollInterval is the wait
	// between polls (default 2s).
	LastAccessedMaxJobs      int
	LastAccessedRate         float64
	LastAccessedTimeout      time.Duration
	LastAccessedPollInterval time.Duration

	// OwnerTagKeys are the tag keys whose values are owner hints; default
	// ["owner"]. Matched case-insensitively.
	OwnerTagKeys []string
	Now          func() time.Time
	Logger       *slog.Logger
	// Progress is told as each account finishes (optional).
	Progress collectors.Progress
	// Calls hears every HTTP attempt with its operation and outcome
	// (metrics); nil: nobody listens.
	Calls collectors.CallObserver
}

// Collector inventories AWS. It only reads: credential controls are on
// Controls.
type Collector struct {
	cfg      Config
	sessions *sessions
}

var _ collectors.Collector = (*Collector)(nil)

// New checks cfg and returns a Collector. It makes no network call.
func New(cfg Config) (*Collector, error) {
	cfg, err := cfg.complete()
	if err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, sessions: newSessions(cfg)}, nil
}

// complete checks cfg and fills in the defaults.
func (cfg Config) complete() (Config, error) {
	if cfg.Concurrency < 0 {
		return cfg, fmt.Errorf("aws: concurrency %d is negative", cfg.Concurrency)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Partition == "" {
		cfg.Partition = "aws"
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if cfg.ReportPollInterval <= 0 {
		cfg.ReportPollInterval = DefaultReportPollInterval
	}
	if cfg.ReportTimeout <= 0 {
		cfg.ReportTimeout = DefaultReportTimeout
	}
	if cfg.AccountTimeout <= 0 {
		cfg.AccountTimeout = DefaultAccountTimeout
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if len(cfg.OwnerTagKeys) == 0 {
		cfg.OwnerTagKeys = []string{"owner"}
	}
	if err := cfg.completeLastAccessed(); err != nil {
		return cfg, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, a := range cfg.Accounts {
		if !validAccountID(a) {
			return cfg, fmt.Errorf("aws: account id %q is not 12 digits", a)
		}
	}
	for _, a := range cfg.TrustedAccounts {
		if !validAccountID(a) {
			return cfg, fmt.Errorf("aws: trusted account id %q is not 12 digits", a)
		}
	}
	if cfg.RoleName == "" && (cfg.Organization || len(cfg.Accounts) > 1) {
		return cfg, errors.New("aws: role_name is required to scan more than one account")
	}
	return cfg, nil
}

func validAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Provider returns nhi.AWS.
func (c *Collector) Provider() nhi.Provider { return nhi.AWS }

func (cfg *Config) completeLastAccessed() error {
	switch cfg.LastAccessed {
	case "":
		cfg.LastAccessed = LastAccessedOutsideBaseline
	case LastAccessedOutsideBaseline, LastAccessedPrivileged, LastAccessedAll, LastAccessedOff:
	default:
		return fmt.Errorf("aws: last_accessed %q: want privileged, outside-baseline, all or off", cfg.LastAccessed)
	}
	if cfg.LastAccessedMaxJobs < 0 || cfg.LastAccessedRate < 0 {
		return errors.New("aws: last_accessed_max_jobs and last_accessed_rate must not be negative")
	}
	if cfg.LastAccessedMaxJobs == 0 {
		cfg.LastAccessedMaxJobs = DefaultLastAccessedMaxJobs
	}
	if cfg.LastAccessedRate == 0 {
		cfg.LastAccessedRate = DefaultLastAccessedRate
	}
	if cfg.LastAccessedTimeout <= 0 {
		cfg.LastAccessedTimeout = DefaultLastAccessedTimeout
	}
	if cfg.LastAccessedPollInterval <= 0 {
		cfg.LastAccessedPollInterval = DefaultLastAccessedPollInterval
	}
	return nil
}
