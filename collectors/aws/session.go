package aws

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// sessions holds the SDK configuration of the base credentials and, per
// account, of the role assumed there. Credentials are cached per account
// and reused by later scans (or actions) of the same Collector (or
// Controls).
type sessions struct {
	cfg Config

	baseOnce sync.Once
	base     aws.Config
	baseErr  error

	mu       sync.Mutex
	accounts map[string]aws.Config
}

func newSessions(cfg Config) *sessions {
	return &sessions{cfg: cfg, accounts: map[string]aws.Config{}}
}

// baseConfig loads the SDK configuration of the base credentials once.
func (s *sessions) baseConfig(ctx context.Context) (aws.Config, error) {
	s.baseOnce.Do(func() {
		opts := []func(*config.LoadOptions) error{
			config.WithRegion(s.cfg.Region),
			config.WithRetryer(func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = max(s.cfg.MaxRetries, 0) + 1
					o.MaxBackoff = s.cfg.MaxRetryDelay
					o.Backoff = jitterBackoff{base: s.cfg.RetryBaseDelay, max: s.cfg.MaxRetryDelay}
					o.RateLimiter = ratelimit.None
				})
			}),
		}
		if s.cfg.Credentials != nil {
			opts = append(opts, config.WithCredentialsProvider(s.cfg.Credentials))
		}
		if s.cfg.Profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(s.cfg.Profile))
		}
		if s.cfg.SharedCredentialsFile != "" {
			opts = append(opts, config.WithSharedCredentialsFiles([]string{s.cfg.SharedCredentialsFile}))
		}
		if s.cfg.EndpointURL != "" {
			opts = append(opts, config.WithBaseEndpoint(s.cfg.EndpointURL))
		}
		if s.cfg.HTTPClient == nil {
			opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(s.cfg.CallTimeout)))
		}
		s.base, s.baseErr = config.LoadDefaultConfig(context.WithoutCancel(ctx), opts...)
		if s.baseErr != nil {
			s.baseErr = fmt.Errorf("aws: load configuration: %w", s.baseErr)
			return
		}
		// Set after loading: a caller's client carries its own TLS roots, and
		// the loader refuses to add AWS_CA_BUNDLE to a plain *http.Client.
		if s.cfg.HTTPClient != nil {
			hc := *s.cfg.HTTPClient
			if hc.Timeout == 0 || hc.Timeout > s.cfg.CallTimeout {
				hc.Timeout = s.cfg.CallTimeout
			}
			s.base.HTTPClient = &hc
		}
		if s.cfg.Calls != nil {
			s.base.HTTPClient = observedClient{inner: s.base.HTTPClient, calls: s.cfg.Calls}
		}
	})
	return s.base, s.baseErr
}

// observedClient reports each HTTP attempt of the SDK to Config.Calls,
// named by the service and operation of the middleware stack
// (iam:ListUsers), as the gaps name them. Wrapped after loading, so the
// loader still sees the client it configures (AWS_CA_BUNDLE).
type observedClient struct {
	inner aws.HTTPClient
	calls collectors.CallObserver
}

func (c observedClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.Do(req)
	ctx := req.Context()
	op := strings.ToLower(awsmiddleware.GetServiceID(ctx)) + ":" + awsmiddleware.GetOperationName(ctx)
	c.calls.Observe(collectors.Call{Provider: nhi.AWS, Operation: op, Status: collectors.CallStatus(resp, err)})
	return resp, err
}

// account returns the configuration for one account, assuming RoleName
// there when set.
func (s *sessions) account(ctx context.Context, account string) (aws.Config, error) {
	base, err := s.baseConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	if s.cfg.RoleName == "" {
		return base, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg, ok := s.accounts[account]; ok {
		return cfg, nil
	}
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), s.roleARN(account), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = DefaultSessionName
		if s.cfg.ExternalID != "" {
			o.ExternalID = aws.String(s.cfg.ExternalID)
		}
	}))
	s.accounts[account] = cfg
	return cfg, nil
}

// iam returns an IAM client for an account.
func (s *sessions) iam(ctx context.Context, account string) (*iam.Client, aws.Config, error) {
	cfg, err := s.account(ctx, account)
	if err != nil {
		return nil, cfg, err
	}
	return iam.NewFromConfig(cfg), cfg, nil
}

func (s *sessions) roleARN(account string) string {
	return "arn:" + s.cfg.Partition + ":iam::" + account + ":role/" + s.cfg.RoleName
}

// jitterBackoff is the SDK's exponential jitter backoff
// (retry.ExponentialJitterBackoff) from a base other than its fixed second:
// a random wait up to base×2^attempt, capped at max.
type jitterBackoff struct{ base, max time.Duration }

func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceiling := b.max
	if attempt >= 0 && attempt < 32 {
		if c := b.base << attempt; c > 0 && c < b.max {
			ceiling = c
		}
	}
	return time.Duration(rand.Float64() * float64(ceiling)), nil
}
