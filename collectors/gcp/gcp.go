// Package gcp inventories Google Cloud service accounts, their keys and
// bound API keys, the IAM bindings that name them, and their last
// authentication, and disables or enables keys and service accounts on
// request.
//
// Collection uses Cloud Asset Inventory at the configured organisation,
// folders or projects (a few paged calls for the whole scope), falls back to
// per-project IAM and Resource Manager calls where the Asset API is not
// enabled or not permitted, and reads usage from Policy Analyzer. It never
// requests key material or API key strings, and it changes nothing unless
// Act is called.
package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/googleapis/gax-go/v2"
	"github.com/googleapis/gax-go/v2/apierror"
	apikeys "google.golang.org/api/apikeys/v2"
	cloudasset "google.golang.org/api/cloudasset/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	"google.golang.org/api/googleapi"
	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"
	policyanalyzer "google.golang.org/api/policyanalyzer/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Config configures a Collector. Exactly one of Organization, Folders or
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
	// by "cloudasset", "iam", "policyanalyzer", "apikeys" and
	// "cloudresourcemanager".
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
	// is retried (default 5); MaxRetryDelay caps each pause, including a
	// server's Retry-After (default 30s); RetryBaseDelay is the first
	// backoff pause (default 500ms).
	MaxRetries     int
	MaxRetryDelay  time.Duration
	RetryBaseDelay time.Duration

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
	// SkipUsage skips Policy Analyzer; usage is then reported as unknown.
	SkipUsage bool

	Now    func() time.Time
	Logger *slog.Logger
	// Progress is told as each parent's inventory and each project's usage
	// finish (optional).
	Progress collectors.Progress
}

// Collector collects GCP identities and acts on their credentials.
type Collector struct {
	cfg      Config
	parents  []string
	ownerRe  *regexp.Regexp
	delegate map[string]bool

	asset *cloudasset.Service
	iam   *iam.Service
	pa    *policyanalyzer.Service
	keys  *apikeys.Service
	crm   *crm.Service
	log   *slog.Logger
}

var (
	_ collectors.Collector  = (*Collector)(nil)
	_ collectors.Controller = (*Collector)(nil)
)

var numeric = regexp.MustCompile(`^[0-9]+$`)

// New validates cfg and builds the API clients. It makes no call.
func New(cfg Config) (*Collector, error) {
	var errs []error
	c := &Collector{cfg: cfg, delegate: map[string]bool{}}
	if o := strings.TrimPrefix(cfg.Organization, "organizations/"); o != "" {
		if !numeric.MatchString(o) {
			errs = append(errs, fmt.Errorf("organization %q: want a numeric organisation id", cfg.Organization))
		}
		c.parents = append(c.parents, "organizations/"+o)
	}
	for _, f := range cfg.Folders {
		f = strings.TrimPrefix(f, "folders/")
		if !numeric.MatchString(f) {
			errs = append(errs, fmt.Errorf("folder %q: want a numeric folder id", f))
		}
		c.parents = append(c.parents, "folders/"+f)
	}
	for _, p := range cfg.Projects {
		p = strings.TrimPrefix(p, "projects/")
		if p == "" || strings.ContainsAny(p, "/ ") {
			errs = append(errs, fmt.Errorf("project %q: want a project id", p))
		}
		c.parents = append(c.parents, "projects/"+p)
	}
	if len(c.parents) == 0 {
		errs = append(errs, errors.New("no scope: set organization, folders or projects"))
	}
	pat := cfg.OwnerPattern
	if pat == "" {
		pat = `(?i)owner\s*[:=]\s*([^\s,;()]+)`
	}
	re, err := regexp.Compile(pat)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("owner pattern: %w", err))
	case re.NumSubexp() < 1:
		errs = append(errs, errors.New("owner pattern: needs a capture group"))
	}
	c.ownerRe = re
	for _, id := range cfg.DelegatedClientIDs {
		c.delegate[strings.ToLower(strings.TrimSpace(id))] = true
	}
	if c.cfg.Concurrency <= 0 {
		c.cfg.Concurrency = 8
	}
	if c.cfg.AssetPageSize <= 0 || c.cfg.AssetPageSize > 1000 {
		c.cfg.AssetPageSize = 1000
	}
	if c.cfg.MaxRetries == 0 {
		c.cfg.MaxRetries = 5
	}
	if c.cfg.MaxRetryDelay <= 0 {
		c.cfg.MaxRetryDelay = 30 * time.Second
	}
	if c.cfg.RetryBaseDelay <= 0 {
		c.cfg.RetryBaseDelay = 500 * time.Millisecond
	}
	if len(c.cfg.OwnerTagKeys) == 0 {
		c.cfg.OwnerTagKeys = []string{"owner"}
	}
	if c.cfg.Now == nil {
		c.cfg.Now = time.Now
	}
	c.log = cfg.Logger
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	auth, err := authOptions(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("gcp config: %w", errors.Join(errs...))
	}
	ctx := context.Background()
	opts := func(api string) []option.ClientOption {
		o := append([]option.ClientOption{option.WithUserAgent("nhiscan")}, auth...)
		ep := cfg.Endpoints[api]
		if ep == "" {
			ep = cfg.Endpoint
		}
		if ep != "" {
			o = append(o, option.WithEndpoint(strings.TrimSuffix(ep, "/")+"/"))
		}
		return o
	}
	if c.asset, err = cloudasset.NewService(ctx, opts("cloudasset")...); err == nil {
		if c.iam, err = iam.NewService(ctx, opts("iam")...); err == nil {
			if c.pa, err = policyanalyzer.NewService(ctx, opts("policyanalyzer")...); err == nil {
				if c.keys, err = apikeys.NewService(ctx, opts("apikeys")...); err == nil {
					c.crm, err = crm.NewService(ctx, opts("cloudresourcemanager")...)
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("gcp clients: %w", err)
	}
	return c, nil
}

// authOptions turns the credential settings into client options.
func authOptions(cfg Config) ([]option.ClientOption, error) {
	var o []option.ClientOption
	if cfg.QuotaProject != "" {
		o = append(o, option.WithQuotaProject(cfg.QuotaProject))
	}
	switch {
	case cfg.HTTPClient != nil:
		o = append(o, option.WithHTTPClient(cfg.HTTPClient))
	case cfg.NoAuth:
		o = append(o, option.WithoutAuthentication())
	case cfg.CredentialsFile != "":
		b, err := os.ReadFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("credentials file: %w", err)
		}
		var f struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("credentials file %s: %w", cfg.CredentialsFile, err)
		}
		var t option.CredentialsType
		switch f.Type {
		case "service_account":
			t = option.ServiceAccount
		case "external_account":
			t = option.ExternalAccount
		case "impersonated_service_account":
			t = option.ImpersonatedServiceAccount
		case "authorized_user":
			t = option.AuthorizedUser
		default:
			return nil, fmt.Errorf("credentials file %s: unsupported type %q", cfg.CredentialsFile, f.Type)
		}
		o = append(o, option.WithAuthCredentialsJSON(t, b))
	}
	return o, nil
}

// Provider returns nhi.GCP.
func (c *Collector) Provider() nhi.Provider { return nhi.GCP }

// retryer retries 429 and 503 with exponential backoff, honouring a
// server's Retry-After, up to MaxRetries times.
type retryer struct {
	bo       gax.Backoff
	max      int
	n        int
	maxDelay time.Duration
}

func (r *retryer) Retry(err error) (time.Duration, bool) {
	var ge *googleapi.Error
	if !errors.As(err, &ge) || (ge.Code != http.StatusTooManyRequests && ge.Code != http.StatusServiceUnavailable) {
		return 0, false
	}
	if r.n >= r.max {
		return 0, false
	}
	r.n++
	pause := r.bo.Pause()
	if s := ge.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && time.Duration(secs)*time.Second > pause {
			pause = time.Duration(secs) * time.Second
		}
	}
	return min(pause, r.maxDelay), true
}

// call runs f with retries on throttling.
func (c *Collector) call(ctx context.Context, f func(ctx context.Context) error) error {
	if c.cfg.MaxRetries < 0 {
		return f(ctx)
	}
	return gax.Invoke(ctx, func(ctx context.Context, _ gax.CallSettings) error { return f(ctx) },
		gax.WithRetry(func() gax.Retryer {
			return &retryer{max: c.cfg.MaxRetries, maxDelay: c.cfg.MaxRetryDelay,
				bo: gax.Backoff{Initial: c.cfg.RetryBaseDelay, Max: c.cfg.MaxRetryDelay, Multiplier: 2}}
		}))
}

// pages fetches every page of a listing: fetch returns the next page token.
func (c *Collector) pages(ctx context.Context, fetch func(ctx context.Context, token string) (string, error)) error {
	token := ""
	for {
		var next string
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			next, err = fetch(ctx, token)
			return err
		})
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

// classify translates an API error into a gap kind and a collectors
// sentinel.
func classify(err error) (nhi.GapKind, error) {
	if errors.Is(err, context.DeadlineExceeded) {
		return nhi.GapTimeout, err
	}
	if errors.Is(err, context.Canceled) {
		return nhi.GapError, err
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return nhi.GapError, err
	}
	reason := ""
	if ae, ok := apierror.FromError(err); ok {
		reason = ae.Reason()
	}
	switch {
	case reason == "SERVICE_DISABLED" || strings.Contains(ge.Message, "has not been used") || hasReason(ge, "accessNotConfigured"):
		return nhi.GapUnavailable, fmt.Errorf("%w: API not enabled: %s", collectors.ErrDenied, ge.Message)
	case ge.Code == http.StatusForbidden || ge.Code == http.StatusUnauthorized:
		return nhi.GapDenied, fmt.Errorf("%w: %s", collectors.ErrDenied, ge.Message)
	case ge.Code == http.StatusTooManyRequests:
		return nhi.GapThrottled, fmt.Errorf("%w: %s", collectors.ErrThrottled, ge.Message)
	case ge.Code == http.StatusNotFound:
		return nhi.GapError, fmt.Errorf("%w: %s", collectors.ErrNotFound, ge.Message)
	case ge.Code == http.StatusServiceUnavailable || ge.Code == http.StatusGatewayTimeout:
		return nhi.GapUnavailable, err
	}
	return nhi.GapError, err
}

func hasReason(ge *googleapi.Error, r string) bool {
	for _, e := range ge.Errors {
		if e.Reason == r {
			return true
		}
	}
	return false
}

// parseTime parses an RFC 3339 time; empty or invalid gives zero.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
