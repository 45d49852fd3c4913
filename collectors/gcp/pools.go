package gcp

import (
	"context"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
	iam "google.golang.org/api/iam/v1"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// pool is a workload identity pool the scan read, with its providers.
type pool struct {
	disabled  bool
	providers []*iam.WorkloadIdentityPoolProvider
}

// collectPools lists the workload identity pools of every project of the
// scan and each pool's providers (iam projects.locations.
// workloadIdentityPools.list and providers.list). A pool's providers are
// how an outside workload authenticates as the pool's principals: they
// become the credentials of the federated principals of the pool, and
// their attribute conditions decide whether a principal trusts too much.
// A failed listing hides the providers and the trust data of its project.
func (c *Collector) collectPools(ctx context.Context, s *scan) {
	s.mu.Lock()
	projects := sortedProjects(s.projects)
	s.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for _, p := range projects {
		g.Go(func() error {
			c.projectPools(gctx, s, p)
			return nil
		})
	}
	_ = g.Wait()
}

func (c *Collector) projectPools(ctx context.Context, s *scan, p *project) {
	var pools []*iam.WorkloadIdentityPool
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.iam.Projects.Locations.WorkloadIdentityPools.List("projects/" + p.id + "/locations/global").
			PageSize(1000).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		pools = append(pools, resp.WorkloadIdentityPools...)
		return resp.NextPageToken, nil
	})
	if err != nil {
		c.fail(s, p.id, opListPools, err, "workload identity pools and providers unknown")
		return
	}
	read := map[string]*pool{}
	for _, wp := range pools {
		if wp.State == "DELETED" {
			continue
		}
		var provs []*iam.WorkloadIdentityPoolProvider
		err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
			resp, err := c.iam.Projects.Locations.WorkloadIdentityPools.Providers.List(wp.Name).
				PageSize(100).PageToken(token).Context(ctx).Do()
			if err != nil {
				return "", err
			}
			provs = append(provs, resp.WorkloadIdentityPoolProviders...)
			return resp.NextPageToken, nil
		})
		if err != nil {
			c.fail(s, p.id, opListProviders, err, "providers of "+wp.Name+" unknown")
			return
		}
		read[wp.Name] = &pool{disabled: wp.Disabled, providers: provs}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.poolsRead = true
	for name, wp := range read {
		s.pools[name] = wp
	}
}

// poolOf returns the pool of a federation member when the scan read its
// project's pools: the pool, or nil when the project holds no such pool.
// It reports false when the pool's project was not read.
func (s *scan) poolOf(m poolMember) (*pool, bool) {
	if m.projectByID {
		return nil, false // a GKE pool: Google manages it, it has no providers
	}
	id, ok := s.byNumber[m.poolProject]
	if p := s.projects[id]; !ok || p == nil || !p.poolsRead {
		return nil, false
	}
	return s.pools[m.poolName()], true
}

// providerCredentials are a pool's providers as credentials of one of its
// principals, deleted ones left out.
func providerCredentials(wp *pool) []nhi.Credential {
	var out []nhi.Credential
	for _, pr := range wp.providers {
		if pr.State == "DELETED" {
			continue
		}
		cred := nhi.Credential{ID: pr.Name[strings.LastIndex(pr.Name, "/")+1:], Type: nhi.CredGCPWorkloadIdentityProvider,
			Name: pr.DisplayName, Status: nhi.StatusActive, Attributes: map[string]string{"resource_name": pr.Name},
			Usage: nhi.Usage{State: nhi.UsageNotReported, Reason: "Google does not report when a workload identity provider is used"}}
		if pr.Disabled || wp.disabled {
			cred.Status = nhi.StatusDisabled
		}
		kind, issuer := providerKind(pr)
		cred.Attributes["provider_type"] = kind
		if issuer != "" {
			cred.Attributes["issuer"] = issuer
		}
		if pr.AttributeCondition != "" {
			cred.Attributes["attribute_condition"] = pr.AttributeCondition
		}
		if pr.Oidc != nil && len(pr.Oidc.AllowedAudiences) > 0 {
			cred.Attributes["allowed_audiences"] = strings.Join(pr.Oidc.AllowedAudiences, ",")
		}
		out = append(out, cred)
	}
	return out
}

// providerKind names a provider's kind and whom it trusts.
func providerKind(pr *iam.WorkloadIdentityPoolProvider) (string, string) {
	switch {
	case pr.Oidc != nil:
		return "oidc", pr.Oidc.IssuerUri
	case pr.Aws != nil:
		return "aws", "aws account " + pr.Aws.AccountId
	case pr.Saml != nil:
		return "saml", ""
	case pr.X509 != nil:
		return "x509", ""
	}
	return "unknown", ""
}

// sharedIssuers are OIDC issuers that sign tokens for anyone who signs up:
// a provider trusting one without an attribute condition accepts every
// repository or workspace on the service.
var sharedIssuers = map[string]string{
	"https://token.actions.githubusercontent.com": "any GitHub repository",
	"https://gitlab.com":                          "any gitlab.com project",
	"https://app.terraform.io":                    "any Terraform Cloud workspace",
	"https://oidc.circleci.com":                   "any CircleCI project",
	"https://api.bitbucket.org":                   "any Bitbucket repository",
}

// weakFederation explains why a principal trusts too much: it is every
// identity of its pool, and an active provider of the pool trusts a
// shared issuer without an attribute condition. Empty when it does not.
func weakFederation(m poolMember, wp *pool) string {
	if m.what != "all" || wp.disabled {
		return ""
	}
	var why []string
	for _, pr := range wp.providers {
		if pr.State == "DELETED" || pr.Disabled || pr.AttributeCondition != "" || pr.Oidc == nil {
			continue
		}
		issuer := strings.TrimSuffix(pr.Oidc.IssuerUri, "/")
		for prefix, who := range sharedIssuers {
			if strings.HasPrefix(issuer, prefix) {
				why = append(why, "provider "+pr.Name[strings.LastIndex(pr.Name, "/")+1:]+" trusts "+issuer+" without an attribute condition: "+who)
			}
		}
	}
	sort.Strings(why)
	if len(why) == 0 {
		return ""
	}
	return "every identity of workload identity pool " + m.pool + " may act as this principal, and " + strings.Join(why, "; ")
}
