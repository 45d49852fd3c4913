// Package github collects the non-human identities of GitHub organisations:
// deploy keys, GitHub App installations, fine-grained personal access
// tokens, SAML-authorised classic tokens and SSH keys, and the Actions
// secrets of organisations, repositories and environments, and maps them to
// the nhi model (Collector, read-only). Controls, built apart, performs the
// GitHub credential controls (delete and restore a deploy key, revoke a
// fine-grained token's org access, remove a SAML credential authorisation)
// when, and only when, a caller asks.
//
// Files follow the steps: github.go (Config, New), collect.go (Collect and
// the per-organisation calls), graphql.go (the deploy key and environment
// query), map.go (wire to nhi), fields.go (timestamps decoded per item: a
// malformed one is an unknown field and a gap), controls.go (credential
// controls), errors.go (error translation, which keeps no response body,
// and the operation table: permission and facets per call), transport.go
// (authentication, ETags, rate-limit retries, paging that must advance).
// Privilege is judged by internal/privilege. conformance/ checks the
// collector and its fake against GitHub's official descriptions.
//
// It uses go-github v89 (v62, named in the original design, lacks the
// organisation fine-grained token list). It never requests, stores or logs a
// secret value: Actions secrets are listed by name and date only, and the
// installation token it mints lives in memory only.
package github

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v89/github"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// ETagCache keeps the ETag and body of earlier GET responses so a rescan
// sends conditional requests and an unchanged resource costs a 304. Keys
// are "github:<org>:<request path and query>". The SQLite store implements
// it; nil disables conditional requests.
type ETagCache interface {
	GetETag(ctx context.Context, key string) (etag string, body []byte, ok bool, err error)
	PutETag(ctx context.Context, key, etag string, body []byte) error
}

// Config configures a Collector. Secrets come from files or the
// environment, never inline.
type Config struct {
	// Orgs are the organisation logins to scan.
	Orgs []string
	// BaseURL is the REST API root: empty for github.com, or
	// "https://HOST/api/v3/" for GitHub Enterprise Server. The same setting
	// points the collector at a local fake.
	BaseURL string
	// GraphQLURL is the GraphQL endpoint; empty derives it from BaseURL
	// (".../graphql" on github.com, "https://HOST/api/graphql" on GHES).
	GraphQLURL string

	// AppID and AppPrivateKeyFile authenticate as a GitHub App (preferred:
	// higher rate limits, and the only way to list fine-grained tokens).
	AppID             int64
	AppPrivateKeyFile string
	// AppInstallationIDs optionally maps org login to the App's
	// installation id there; missing ones are looked up.
	AppInstallationIDs map[string]int64

	// TokenFile (or TokenEnv, the name of an environment variable) holds a
	// token. Alone, it is the scanning credential; beside an App it is used
	// only for SAML credential authorisations, which GitHub Apps cannot read.
	TokenFile string
	TokenEnv  string
	// SkipSAMLAuthorizations says the orgs do not use SAML single sign-on
	// (or that classic tokens are knowingly out of scope): without a token,
	// an App-only scan then records no gap for SAML authorisations.
	SkipSAMLAuthorizations bool

	// HTTPClient is the client to use (tests and the demo pass the fake's).
	HTTPClient *http.Client
	// Concurrency bounds concurrent requests per organisation (default 10,
	// well under GitHub's secondary limit of 100).
	Concurrency int
	// OwnerTagKeys are the repository custom properties that name an owner
	// (default "owner").
	OwnerTagKeys []string
	// CloudSecretPatterns are regular expressions (case-insensitive) over
	// Actions secret names that hold a long-lived cloud credential; nil
	// uses DefaultCloudSecretPatterns.
	CloudSecretPatterns []string
	// Cache keeps ETags between scans; nil disables conditional requests.
	Cache ETagCache
	// MaxRetries is how often a rate-limited call is retried after its
	// first attempt (default 3; negative: never); RetryBaseDelay is the
	// wait for a rate-limit answer that names none (default 1 minute, as
	// GitHub asks); MaxRetryDelay caps each wait (default 2 minutes): a
	// longer one (Retry-After, X-RateLimit-Reset) becomes a throttled gap
	// instead. go-github has no retries of its own: the collector's
	// transport waits.
	MaxRetries     int
	RetryBaseDelay time.Duration
	MaxRetryDelay  time.Duration
	// CallTimeout bounds one HTTP attempt, answer included (default
	// DefaultCallTimeout); it replaces HTTPClient's Timeout. A call that
	// runs out of it becomes a timeout gap instead of holding up the scan.
	CallTimeout time.Duration
	// MaxPages bounds the pages of one list (default DefaultMaxPages): a
	// list that goes on past it stops with a gap, as does one whose paging
	// does not advance.
	MaxPages int

	Now    func() time.Time
	Logger *slog.Logger
	// Progress is told as each organisation finishes (optional).
	Progress collectors.Progress
	// Calls hears every HTTP attempt with its operation and outcome
	// (metrics); nil: nobody listens.
	Calls collectors.CallObserver
}

// DefaultCallTimeout is the default CallTimeout.
const DefaultCallTimeout = 60 * time.Second

// DefaultMaxPages is the default MaxPages: a million items at 100 a page.
const DefaultMaxPages = 10_000

// DefaultCloudSecretPatterns match Actions secret names that hold AWS, Azure
// or Google Cloud credentials.
var DefaultCloudSecretPatterns = []string{
	`^(.*_)?AWS_(SECRET_)?ACCESS_KEY(_ID)?$`,
	`^(.*_)?AWS_SESSION_TOKEN$`,
	`^(.*_)?(AZURE|ARM|AZ)_CLIENT_SECRET$`,
	`^(.*_)?AZURE_CREDENTIALS$`,
	`^(.*_)?GOOGLE_(APPLICATION_)?CREDENTIALS(_JSON)?$`,
	`^(.*_)?(GCP|GCLOUD|GOOGLE)_(SA_|SERVICE_ACCOUNT_|SERVICE_)?KEY(_JSON)?$`,
	`^(.*_)?GCP_CREDENTIALS(_JSON)?$`,
	`^(.*_)?SERVICE_ACCOUNT_KEY(_JSON)?$`,
}

// Collector inventories GitHub organisations. It only reads: the
// credential controls are on Controls.
type Collector struct {
	*api
	patterns []*regexp.Regexp
}

var _ collectors.Collector = (*Collector)(nil)

// api is what Collector and Controls share: the configuration and one set
// of authenticated clients per organisation.
type api struct {
	cfg     Config
	base    *url.URL
	graphql string
	appKey  *rsa.PrivateKey
	token   string
	log     *slog.Logger
	clients map[string]*orgClients
}

type orgClients struct {
	org  string
	rest *gh.Client // App installation token, or the token
	app  bool
	// appAuth is the App installation transport; nil with a token.
	appAuth *appTransport
	saml    *gh.Client // token client for credential authorisations; nil if none
}

// New checks cfg and builds a Collector. It reads the key and token files
// once; it makes no request.
func New(cfg Config) (*Collector, error) {
	a, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	c := &Collector{api: a}
	for _, p := range a.cfg.CloudSecretPatterns {
		re, err := regexp.Compile("(?i)" + p)
		if err != nil {
			return nil, fmt.Errorf("github: cloud secret pattern %q: %w", p, err)
		}
		c.patterns = append(c.patterns, re)
	}
	return c, nil
}

// Provider returns nhi.GitHub.
func (c *Collector) Provider() nhi.Provider { return nhi.GitHub }

// withDefaults fills in the defaults of unset settings.
func (cfg Config) withDefaults() Config {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if len(cfg.OwnerTagKeys) == 0 {
		cfg.OwnerTagKeys = []string{"owner"}
	}
	if cfg.CloudSecretPatterns == nil {
		cfg.CloudSecretPatterns = DefaultCloudSecretPatterns
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = time.Minute
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = 2 * time.Minute
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// newAPI checks cfg, reads the credentials and builds the clients of
// every organisation.
func newAPI(cfg Config) (*api, error) {
	if len(cfg.Orgs) == 0 {
		return nil, errors.New("github: no organisations configured")
	}
	cfg = cfg.withDefaults()
	a := &api{cfg: cfg, log: cfg.Logger, clients: map[string]*orgClients{}}
	if err := a.urls(); err != nil {
		return nil, err
	}
	if err := a.credentials(); err != nil {
		return nil, err
	}
	for _, org := range cfg.Orgs {
		if org == "" || strings.ContainsAny(org, "/?#") {
			return nil, fmt.Errorf("github: invalid organisation %q", org)
		}
		if a.clients[strings.ToLower(org)] != nil {
			return nil, fmt.Errorf("github: organisation %q listed twice", org)
		}
		oc, err := a.newOrgClients(org)
		if err != nil {
			return nil, err
		}
		a.clients[strings.ToLower(org)] = oc
	}
	return a, nil
}

// urls sets the REST root and the GraphQL endpoint.
func (a *api) urls() error {
	base := a.cfg.BaseURL
	if base == "" {
		base = "https://api.github.com/"
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("github: base url: %w", err)
	}
	a.base = u
	a.graphql = a.cfg.GraphQLURL
	if a.graphql == "" {
		g := *u
		if strings.HasSuffix(g.Path, "/api/v3/") {
			g.Path = strings.TrimSuffix(g.Path, "v3/") + "graphql"
		} else {
			g.Path += "graphql"
		}
		a.graphql = g.String()
	}
	return nil
}

// credentials reads the App key and the token.
func (a *api) credentials() error {
	cfg := a.cfg
	if cfg.AppID != 0 || cfg.AppPrivateKeyFile != "" {
		if cfg.AppID == 0 || cfg.AppPrivateKeyFile == "" {
			return errors.New("github: app authentication needs both app_id and app_private_key_file")
		}
		pemBytes, err := os.ReadFile(cfg.AppPrivateKeyFile)
		if err != nil {
			return fmt.Errorf("github: app private key: %w", err)
		}
		a.appKey, err = jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
		if err != nil {
			return fmt.Errorf("github: app private key %s: %w", cfg.AppPrivateKeyFile, err)
		}
	}
	switch {
	case cfg.TokenFile != "":
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return fmt.Errorf("github: token file: %w", err)
		}
		a.token = strings.TrimSpace(string(b))
	case cfg.TokenEnv != "":
		a.token = strings.TrimSpace(os.Getenv(cfg.TokenEnv))
	}
	if (cfg.TokenFile != "" || cfg.TokenEnv != "") && a.token == "" {
		return errors.New("github: the configured token is empty")
	}
	if a.appKey == nil && a.token == "" {
		return errors.New("github: no credentials: set app_id and app_private_key_file, or token_file / token_env")
	}
	return nil
}

func (a *api) newOrgClients(org string) (*orgClients, error) {
	oc := &orgClients{org: org}
	baseRT := a.cfg.HTTPClient.Transport
	if baseRT == nil {
		baseRT = http.DefaultTransport
	}
	baseRT = a.observe(baseRT)
	mk := func(rt http.RoundTripper) (*gh.Client, error) {
		hc := *a.cfg.HTTPClient
		hc.Transport = rt
		hc.Timeout = a.cfg.CallTimeout // per attempt: each retry has its own
		b := a.base.String()
		cl, err := gh.NewClient(gh.WithHTTPClient(&hc), gh.WithURLs(&b, &b), gh.WithUserAgent("nhiscan"))
		if err != nil {
			return nil, fmt.Errorf("github: client: %w", err)
		}
		return cl, nil
	}
	var auth http.RoundTripper
	if a.appKey != nil {
		oc.app = true
		oc.appAuth = &appTransport{
			base: baseRT, api: a.base, appID: a.cfg.AppID, key: a.appKey, org: org,
			installationID: lookupFold(a.cfg.AppInstallationIDs, org), now: a.cfg.Now,
		}
		auth = oc.appAuth
	} else {
		auth = &tokenTransport{base: baseRT, token: a.token}
	}
	var rt http.RoundTripper = auth
	if a.cfg.Cache != nil {
		rt = &etagTransport{base: auth, cache: a.cfg.Cache, prefix: "github:" + strings.ToLower(org) + ":", log: a.log}
	}
	var err error
	if oc.rest, err = mk(rt); err != nil {
		return nil, err
	}
	if a.token != "" {
		if !oc.app {
			oc.saml = oc.rest
		} else if oc.saml, err = mk(&tokenTransport{base: baseRT, token: a.token}); err != nil {
			return nil, err
		}
	}
	return oc, nil
}

func lookupFold(m map[string]int64, key string) int64 {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
