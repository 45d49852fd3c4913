package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// caller makes API calls with the configured retries and per-attempt
// timeout, and translates their errors (translate). The collector and the
// controls share it.
type caller struct {
	maxRetries int
	baseDelay  time.Duration
	maxDelay   time.Duration
	timeout    time.Duration
}

func newCaller(cfg Config) caller {
	return caller{maxRetries: cfg.MaxRetries, baseDelay: cfg.RetryBaseDelay, maxDelay: cfg.MaxRetryDelay, timeout: cfg.CallTimeout}
}

// retryer retries 429 and 503 with exponential backoff, honouring a
// server's Retry-After, up to max times. A timed-out attempt is not
// retried: a hung API would hold the scan for every retry.
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

// call runs f, each attempt bounded by the call timeout, with retries on
// throttling, and returns the translated error.
func (c caller) call(ctx context.Context, f func(ctx context.Context) error) error {
	attempt := func(ctx context.Context, _ gax.CallSettings) error {
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		return f(actx)
	}
	if c.maxRetries < 0 {
		return translate(attempt(ctx, gax.CallSettings{}))
	}
	return translate(gax.Invoke(ctx, attempt, gax.WithRetry(func() gax.Retryer {
		return &retryer{max: c.maxRetries, maxDelay: c.maxDelay,
			bo: gax.Backoff{Initial: c.baseDelay, Max: c.maxDelay, Multiplier: 2}}
	})))
}

// pages fetches every page of a listing: fetch returns the next page token.
func (c caller) pages(ctx context.Context, fetch func(ctx context.Context, token string) (string, error)) error {
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

// authOptions turns the credential settings into client options, with
// each HTTP attempt reported to cfg.Calls when it is set.
func authOptions(cfg Config) ([]option.ClientOption, error) {
	o, err := credentialOptions(cfg)
	if err != nil || cfg.Calls == nil {
		return o, err
	}
	op := func(r *http.Request) string { return collectors.PathOperation(r, gcpCollections) }
	if cfg.HTTPClient != nil {
		hc := *cfg.HTTPClient
		hc.Transport = collectors.ObserveTransport(hc.Transport, nhi.GCP, op, cfg.Calls)
		return []option.ClientOption{option.WithHTTPClient(&hc)}, nil
	}
	// The SDK's own authenticated transport, over an observed base: the
	// same credentials, quota project and scope the clients would use.
	rt, err := htransport.NewTransport(context.Background(), collectors.ObserveTransport(http.DefaultTransport, nhi.GCP, op, cfg.Calls),
		append(o, option.WithScopes(cloudPlatformScope))...)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	return []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: rt})}, nil
}

// cloudPlatformScope is the OAuth scope of every API the collector calls.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// gcpCollections are the path segments followed by an id that has no
// digit (a project id, a folder or role name).
var gcpCollections = map[string]int{"projects": 1, "serviceAccounts": 1, "keys": 1, "roles": 1, "folders": 1, "organizations": 1,
	"workloadIdentityPools": 1, "providers": 1, "locations": 1}

// credentialOptions turns the credential settings into client options.
func credentialOptions(cfg Config) ([]option.ClientOption, error) {
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
		t, ok := credentialTypes[f.Type]
		if !ok {
			return nil, fmt.Errorf("credentials file %s: unsupported type %q", cfg.CredentialsFile, f.Type)
		}
		o = append(o, option.WithAuthCredentialsJSON(t, b))
	}
	return o, nil
}

var credentialTypes = map[string]option.CredentialsType{
	"service_account":              option.ServiceAccount,
	"external_account":             option.ExternalAccount,
	"impersonated_service_account": option.ImpersonatedServiceAccount,
	"authorized_user":              option.AuthorizedUser,
}

// clientOptions are the options of one API's client: the credentials and
// the endpoint configured for it.
func clientOptions(cfg Config, auth []option.ClientOption, api string) []option.ClientOption {
	o := append([]option.ClientOption{option.WithUserAgent("nhiscan")}, auth...)
	ep := cfg.Endpoints[api]
	if ep == "" && cfg.Endpoint != "" {
		ep = cfg.Endpoint
		if api == "storage" {
			// The JSON API's paths start below its service path.
			ep = strings.TrimSuffix(ep, "/") + "/storage/v1/"
		}
	}
	if ep != "" {
		o = append(o, option.WithEndpoint(strings.TrimSuffix(ep, "/")+"/"))
	}
	return o
}
