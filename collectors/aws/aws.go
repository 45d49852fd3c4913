// Package aws collects the non-human identities of one AWS account, an
// explicit list of accounts or a whole AWS Organization: IAM users and
// roles, their access keys and service-specific credentials, policy grants
// with privilege levels, usage from the credential report and RoleLastUsed,
// owner hints from tags, and trust-policy risks. It also performs the
// credential controls (deactivate, reactivate and delete access keys,
// quarantine roles and users). It reads credential metadata only: it never
// requests, stores or logs a secret value, and it changes nothing unless Act
// is called.
package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Defaults.
const (
	DefaultConcurrency        = 16
	DefaultRegion             = "us-east-1"
	DefaultMaxAttempts        = 8
	DefaultMaxBackoff         = 20 * time.Second
	DefaultReportPollInterval = 2 * time.Second
	DefaultReportTimeout      = 5 * time.Minute
	DefaultAccountTimeout     = 15 * time.Minute
	DefaultSessionName        = "nhiscan"
	// QuarantinePolicy is the inline deny-all policy Act puts on a role or
	// user to disable it.
	QuarantinePolicy = "nhiscan-quarantine"
	// RevokeSessionsPolicy is the inline policy, named as the console names
	// it, that denies sessions issued before the quarantine.
	RevokeSessionsPolicy = "AWSRevokeOlderSessions"
)

// Config configures a Collector. The zero value scans the account of the
// SDK's default credential chain.
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
	HTTPClient  *http.Client

	// Concurrency is how many accounts are collected at once; default 16.
	Concurrency int
	// MaxAttempts and MaxBackoff configure the SDK retryer, which honours
	// throttling errors and x-amz-retry-after; defaults 8 and 20s.
	MaxAttempts int
	MaxBackoff  time.Duration
	// ReportPollInterval and ReportTimeout bound the wait for the
	// credential report; defaults 2s and 5m.
	ReportPollInterval time.Duration
	ReportTimeout      time.Duration
	// AccountTimeout bounds the collection of one account; an account
	// that takes longer becomes a timeout gap. Default 15m.
	AccountTimeout time.Duration

	// OwnerTagKeys are the tag keys whose values are owner hints; default
	// ["owner"]. Matched case-insensitively.
	OwnerTagKeys []string
	Now          func() time.Time
	Logger       *slog.Logger
	// Progress is told as each account finishes (optional).
	Progress collectors.Progress
}

// Collector inventories AWS and performs credential controls.
type Collector struct {
	cfg Config

	baseOnce sync.Once
	base     aws.Config
	baseErr  error

	mu       sync.Mutex
	accounts map[string]aws.Config // per-account config with cached credentials
}

var (
	_ collectors.Collector  = (*Collector)(nil)
	_ collectors.Controller = (*Collector)(nil)
)

// New checks cfg and returns a Collector. It makes no network call.
func New(cfg Config) (*Collector, error) {
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("aws: concurrency %d is negative", cfg.Concurrency)
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
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
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
	if len(cfg.OwnerTagKeys) == 0 {
		cfg.OwnerTagKeys = []string{"owner"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, a := range cfg.Accounts {
		if !validAccountID(a) {
			return nil, fmt.Errorf("aws: account id %q is not 12 digits", a)
		}
	}
	for _, a := range cfg.TrustedAccounts {
		if !validAccountID(a) {
			return nil, fmt.Errorf("aws: trusted account id %q is not 12 digits", a)
		}
	}
	if cfg.RoleName == "" && (cfg.Organization || len(cfg.Accounts) > 1) {
		return nil, errors.New("aws: role_name is required to scan more than one account")
	}
	return &Collector{cfg: cfg, accounts: map[string]aws.Config{}}, nil
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

func (c *Collector) baseConfig(ctx context.Context) (aws.Config, error) {
	c.baseOnce.Do(func() {
		opts := []func(*config.LoadOptions) error{
			config.WithRegion(c.cfg.Region),
			config.WithRetryer(func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = c.cfg.MaxAttempts
					o.MaxBackoff = c.cfg.MaxBackoff
					o.RateLimiter = ratelimit.None
				})
			}),
		}
		if c.cfg.Credentials != nil {
			opts = append(opts, config.WithCredentialsProvider(c.cfg.Credentials))
		}
		if c.cfg.Profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(c.cfg.Profile))
		}
		if c.cfg.SharedCredentialsFile != "" {
			opts = append(opts, config.WithSharedCredentialsFiles([]string{c.cfg.SharedCredentialsFile}))
		}
		if c.cfg.EndpointURL != "" {
			opts = append(opts, config.WithBaseEndpoint(c.cfg.EndpointURL))
		}
		c.base, c.baseErr = config.LoadDefaultConfig(context.WithoutCancel(ctx), opts...)
		if c.baseErr != nil {
			c.baseErr = fmt.Errorf("aws: load configuration: %w", c.baseErr)
			return
		}
		// Set after loading: a caller's client carries its own TLS roots, and
		// the loader refuses to add AWS_CA_BUNDLE to a plain *http.Client.
		if c.cfg.HTTPClient != nil {
			c.base.HTTPClient = c.cfg.HTTPClient
		}
	})
	return c.base, c.baseErr
}

// accountConfig returns the configuration for one account, assuming
// RoleName there when set. Credentials are cached per account and reused
// by later scans and actions.
func (c *Collector) accountConfig(ctx context.Context, account string) (aws.Config, error) {
	base, err := c.baseConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	if c.cfg.RoleName == "" {
		return base, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg, ok := c.accounts[account]; ok {
		return cfg, nil
	}
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), c.roleARN(account), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = DefaultSessionName
		if c.cfg.ExternalID != "" {
			o.ExternalID = aws.String(c.cfg.ExternalID)
		}
	}))
	c.accounts[account] = cfg
	return cfg, nil
}

func (c *Collector) roleARN(account string) string {
	return "arn:" + c.cfg.Partition + ":iam::" + account + ":role/" + c.cfg.RoleName
}

// Collect scans every configured account concurrently. A failing account
// becomes a gap; Collect fails only when no account could be attempted.
func (c *Collector) Collect(ctx context.Context) (nhi.Inventory, error) {
	if err := ctx.Err(); err != nil {
		return nhi.Inventory{}, fmt.Errorf("aws: %w", err)
	}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: c.cfg.Now().UTC()}
	base, err := c.baseConfig(ctx)
	if err != nil {
		return inv, err
	}
	scopes, members, gaps, err := c.scopes(ctx, base)
	if err != nil {
		return inv, err
	}
	inv.Gaps = append(inv.Gaps, gaps...)
	known := map[string]bool{}
	for _, s := range scopes {
		known[s.ID] = true
	}
	for _, a := range members {
		known[a] = true // suspended or closing member accounts are not external
	}
	for _, a := range c.cfg.TrustedAccounts {
		known[a] = true
	}
	results := make([]accountResult, len(scopes))
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for i, s := range scopes {
		g.Go(func() error {
			actx, cancel := context.WithTimeout(gctx, c.cfg.AccountTimeout)
			defer cancel()
			results[i] = c.collectAccount(actx, s.ID, known)
			c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.AWS, Scope: s.ID, Identities: len(results[i].identities),
				Gaps: len(results[i].gaps), Done: int(done.Add(1)), Total: len(scopes)})
			return nil
		})
	}
	_ = g.Wait()
	for _, r := range results {
		inv.Identities = append(inv.Identities, r.identities...)
		inv.Gaps = append(inv.Gaps, r.gaps...)
	}
	inv.Scopes = scopes
	inv.Normalize()
	if err := ctx.Err(); err != nil && len(inv.Identities) == 0 {
		return inv, fmt.Errorf("aws: %w", err)
	}
	c.cfg.Logger.Info("aws collection done", "accounts", len(scopes), "identities", len(inv.Identities), "gaps", len(inv.Gaps))
	return inv, nil
}

// scopes resolves the accounts to scan. members lists every account of the
// organisation, whatever its state.
func (c *Collector) scopes(ctx context.Context, base aws.Config) (out []nhi.Scope, members []string, gaps []nhi.Gap, err error) {
	seen := map[string]bool{}
	add := func(id, name string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, nhi.Scope{Provider: nhi.AWS, ID: id, Name: name})
		}
	}
	if c.cfg.Organization {
		p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(base), &organizations.ListAccountsInput{})
		for p.HasMorePages() {
			var page *organizations.ListAccountsOutput
			page, err = p.NextPage(ctx)
			if err != nil {
				break
			}
			for _, a := range page.Accounts {
				members = append(members, aws.ToString(a.Id))
				if active(a) {
					add(aws.ToString(a.Id), aws.ToString(a.Name))
				} else {
					c.cfg.Logger.Info("skipping account that is not active", "account", aws.ToString(a.Id), "state", string(a.State))
				}
			}
		}
		if err != nil {
			// A provider-wide gap: accounts on the pages not read are
			// unknown, so nothing in AWS may be reported as removed. The
			// accounts listed so far are still scanned.
			gaps = append(gaps, gapFor(err, "", "organizations:ListAccounts", "organizations:ListAccounts", false))
			if len(out) == 0 && len(c.cfg.Accounts) == 0 {
				return nil, nil, nil, fmt.Errorf("aws: list organization accounts: %w", translate(err))
			}
		}
	}
	for _, a := range c.cfg.Accounts {
		add(a, "")
	}
	if len(out) == 0 && !c.cfg.Organization {
		id, err := sts.NewFromConfig(base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("aws: find the account of the credentials: %w", translate(err))
		}
		add(aws.ToString(id.Account), "")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, members, gaps, nil
}

func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive //nolint:staticcheck // older API responses carry only Status
}

// iamClient returns an IAM client for an account.
func (c *Collector) iamClient(ctx context.Context, account string) (*iam.Client, aws.Config, error) {
	cfg, err := c.accountConfig(ctx, account)
	if err != nil {
		return nil, cfg, err
	}
	return iam.NewFromConfig(cfg), cfg, nil
}
