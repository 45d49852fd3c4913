// Package gcp inventories Google Cloud service accounts, their keys and
// bound API keys, the IAM bindings that name them, and their last
// authentication (Collector), and disables, enables or deletes keys and
// disables or enables service accounts on request (Controls).
//
// Collection uses Cloud Asset Inventory at the configured organisation,
// folders or projects (a few paged calls for the whole scope), falls back to
// per-project IAM and Resource Manager calls where the Asset API is not
// enabled or not permitted, and reads usage from Policy Analyzer. Every
// failed call becomes a gap naming the facets it hides. It never requests
// key material or API key strings. The Collector cannot change anything;
// Controls, built separately, is the only writer.
package gcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	apikeys "google.golang.org/api/apikeys/v2"
	cloudasset "google.golang.org/api/cloudasset/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	iam "google.golang.org/api/iam/v1"
	policyanalyzer "google.golang.org/api/policyanalyzer/v1"
	recommender "google.golang.org/api/recommender/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Config configures a Collector and Controls. Exactly one of Organization, Folders or
// Projects is usually set; any combination is allowed and each becomes a
// Cloud Asset Inventory parent.
type Config struct {
	// Organization is the numeric organisation id ("123456789012" or
	// "organizations/123456789012").
	Organization string
	// Folders are numeric folder ids ("456" or "folders/456").
	Folders []string
	// Projects are project ids.
	Projects []string

	// CredentialsFile is a credential configuration file: a service account
	// key file ("service_account") or a workload identity federation
	// configuration ("external_account"). Empty means Application Default
	// Credentials. Its type is read from the file and must be one of those
	// two or "impersonated_service_account" or "authorized_user".
	CredentialsFile string
	// NoAuth sends requests without credentials: for the in-process fake
	// and the demo only.
	NoAuth bool
	// QuotaProject is billed for API quota (x-goog-user-project).
	QuotaProject string
	// Endpoint, when set, points every Google API client at this base URL
	// (a fake, a private endpoint). Endpoints overrides it per API, keyed
	// by "cloudasset", "iam", "policyanalyzer", "apikeys",
	// "cloudresourcemanager" and "storage" (each the API's base URL; for
	// storage, Endpoint is followed by its "storage/v1/" path).
	Endpoint  string
	Endpoints map[string]string
	// HTTPClient, when set, carries every request (the fake's client, a
	// client with its own transport). Authentication is then up to it.
	HTTPClient *http.Client

	// Concurrency bounds per-project calls in flight (default 8).
	Concurrency int
	// AssetPageSize is the page size for ListAssets (default and maximum
	// 1000) and SearchAllIamPolicies (capped at 500).
	AssetPageSize int
	// MaxRetries is how often a throttled (429) or unavailable (503) call
	// is retried after its first attempt (default 5; negative: never);
	// RetryBaseDelay is the first wait of the exponential backoff between
	// retries (default 500ms); MaxRetryDelay caps each wait, a server's
	// Retry-After included (default 30s). They configure gax's retryer.
	MaxRetries     int
	RetryBaseDelay time.Duration
	MaxRetryDelay  time.Duration
	// CallTimeout bounds each HTTP attempt (default 60s). A call that does
	// not answer in time is not retried: it becomes a "timeout" gap, so a
	// hung API cannot hold the scan.
	CallTimeout time.Duration

	// OwnerTagKeys are the project label keys that name an owner (default
	// "owner"). GCP label values cannot hold "@" or ".": when
	// OwnerLabelDomain is set, a value without "@" has "_" turned into "."
	// and "@" + OwnerLabelDomain appended ("irene_rossi" becomes
	// irene.rossi@acme.example).
	OwnerTagKeys     []string
	OwnerLabelDomain string
	// OwnerPattern finds an owner in a service account's description; its
	// first capture group is the owner. Default: `owner\s*[:=]\s*([^\s,;()]+)`
	// case-insensitive.
	OwnerPattern string
	// DelegatedClientIDs are OAuth client ids (or service account emails)
	// with domain-wide delegation configured in Google Workspace. Their
	// usage is a documented Activity Analyzer blind spot and is reported as
	// unknown.
	DelegatedClientIDs []string
	// SkipUsage skips Policy Analyzer; usage is then reported as unknown
	// and the usage facet is not listed as read.
	SkipUsage bool
	// SkipRecommender skips the IAM recommender's policy insights (one
	// paged list per project holding service accounts): the use of role
	// bindings is then not read, and its facet not listed.
	SkipRecommender bool
	// KeyStateCalls bounds the IAM keys.list calls a scan makes to read
	// the state of user-managed keys whose Cloud Asset data left it out
	// (whether they are disabled, or were found exposed): one call per
	// account, default 1000; negative makes none. A key whose state is
	// not read is reported with status unknown and a gap, never as active.
	KeyStateCalls int

	Now    func() time.Time
	Logger *slog.Logger
	// Progress is told as each parent's inventory and each project's usage
	// finish (optional). Only the Collector uses it.
	Progress collectors.Progress
	// Calls hears every HTTP attempt with its operation and outcome
	// (metrics); nil: nobody listens.
	Calls collectors.CallObserver
}

// Collector collects GCP identities. It only reads.
type Collector struct {
	cfg      Config
	parents  []string
	ownerRe  *regexp.Regexp
	delegate map[string]bool
	caller

	asset *cloudasset.Service
	iam   *iam.Service
	pa    *policyanalyzer.Service
	rec   *recommender.Service
	keys  *apikeys.Service
	crm   *crm.Service
	gcs   *storage.Service
	log   *slog.Logger
}

var _ collectors.Collector = (*Collector)(nil)

var numeric = regexp.MustCompile(`^[0-9]+$`)

// defaultOwnerPattern finds "owner: alice@example.com" in a description.
const defaultOwnerPattern = `(?i)owner\s*[:=]\s*([^\s,;()]+)`

// New validates cfg, reporting every problem at once, and builds the API
// clients. It makes no call.
func New(cfg Config) (*Collector, error) {
	cfg = cfg.withDefaults()
	parents, errs := parents(cfg)
	re, err := ownerPattern(cfg.OwnerPattern)
	if err != nil {
		errs = append(errs, err)
	}
	auth, err := authOptions(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("gcp config: %w", errors.Join(errs...))
	}
	c := &Collector{cfg: cfg, parents: parents, ownerRe: re, delegate: map[string]bool{}, caller: newCaller(cfg), log: cfg.Logger}
	for _, id := range cfg.DelegatedClientIDs {
		c.delegate[strings.ToLower(strings.TrimSpace(id))] = true
	}
	ctx := context.Background()
	if c.asset, err = cloudasset.NewService(ctx, clientOptions(cfg, auth, "cloudasset")...); err == nil {
		if c.iam, err = iam.NewService(ctx, clientOptions(cfg, auth, "iam")...); err == nil {
			if c.pa, err = policyanalyzer.NewService(ctx, clientOptions(cfg, auth, "policyanalyzer")...); err == nil {
				c.rec, err = recommender.NewService(ctx, clientOptions(cfg, auth, "recommender")...)
			}
			if err == nil {
				if c.keys, err = apikeys.NewService(ctx, clientOptions(cfg, auth, "apikeys")...); err == nil {
					if c.crm, err = crm.NewService(ctx, clientOptions(cfg, auth, "cloudresourcemanager")...); err == nil {
						c.gcs, err = storage.NewService(ctx, clientOptions(cfg, auth, "storage")...)
					}
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("gcp clients: %w", err)
	}
	return c, nil
}

// withDefaults fills in the settings left zero.
func (cfg Config) withDefaults() Config {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.AssetPageSize <= 0 || cfg.AssetPageSize > 1000 {
		cfg.AssetPageSize = 1000
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = 30 * time.Second
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = 500 * time.Millisecond
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 60 * time.Second
	}
	if cfg.KeyStateCalls == 0 {
		cfg.KeyStateCalls = defaultKeyStateCalls
	}
	if len(cfg.OwnerTagKeys) == 0 {
		cfg.OwnerTagKeys = []string{"owner"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg
}

// parents returns the Cloud Asset parents the configuration names, and
// every malformed id.
func parents(cfg Config) ([]string, []error) {
	var out []string
	var errs []error
	if o := strings.TrimPrefix(cfg.Organization, "organizations/"); o != "" {
		if !numeric.MatchString(o) {
			errs = append(errs, fmt.Errorf("organization %q: want a numeric organisation id", cfg.Organization))
		}
		out = append(out, "organizations/"+o)
	}
	for _, f := range cfg.Folders {
		f = strings.TrimPrefix(f, "folders/")
		if !numeric.MatchString(f) {
			errs = append(errs, fmt.Errorf("folder %q: want a numeric folder id", f))
		}
		out = append(out, "folders/"+f)
	}
	for _, p := range cfg.Projects {
		p = strings.TrimPrefix(p, "projects/")
		if p == "" || strings.ContainsAny(p, "/ ") {
			errs = append(errs, fmt.Errorf("project %q: want a project id", p))
		}
		out = append(out, "projects/"+p)
	}
	if len(out) == 0 {
		errs = append(errs, errors.New("no scope: set organization, folders or projects"))
	}
	return out, errs
}

// ownerPattern compiles the owner pattern (the default when empty); it
// needs a capture group for the owner.
func ownerPattern(pat string) (*regexp.Regexp, error) {
	if pat == "" {
		pat = defaultOwnerPattern
	}
	re, err := regexp.Compile(pat)
	switch {
	case err != nil:
		return nil, fmt.Errorf("owner pattern: %w", err)
	case re.NumSubexp() < 1:
		return nil, errors.New("owner pattern: needs a capture group")
	}
	return re, nil
}

// Provider returns nhi.GCP.
func (c *Collector) Provider() nhi.Provider { return nhi.GCP }
