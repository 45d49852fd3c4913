package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aa "github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// facetAccessAnalyzer is the entitlement usage read from IAM Access
// Analyzer's unused access findings.
var facetAccessAnalyzer = nhi.EntitlementUsageFacet(nhi.SourceAccessAnalyzer)

// analyzerInfo is an active unused access analyzer: its ARN and tracking
// window.
type analyzerInfo struct {
	arn    string
	window time.Duration
	client *aa.Client
}

// unusedAnalyzer finds an active unused access analyzer in the account
// (ListAnalyzers; an organisation's analyzer lives in the account that
// administers Access Analyzer, an account's in the account). Without one,
// or when the call fails (the account then uses Access Advisor, which
// needs no analyzer), ok is false.
func (s *accountScan) unusedAnalyzer(ctx context.Context) (analyzerInfo, bool) {
	if an, ok := findAnalyzer(ctx, aa.NewFromConfig(s.awsCfg), aatypes.TypeAccountUnusedAccess, aatypes.TypeOrganizationUnusedAccess); ok {
		return an, true
	}
	if s.org != nil {
		return *s.org, true
	}
	s.c.cfg.Logger.Info("no Access Analyzer unused access analyzer: using Access Advisor", "account", s.d.account)
	return analyzerInfo{}, false
}

// findAnalyzer lists the active unused access analyzers of the client's
// account (of the account first, then of the organisation); a failed
// list is none.
func findAnalyzer(ctx context.Context, client *aa.Client, types ...aatypes.Type) (analyzerInfo, bool) {
	for _, typ := range types {
		out, err := client.ListAnalyzers(ctx, &aa.ListAnalyzersInput{Type: typ})
		if err != nil {
			return analyzerInfo{}, false
		}
		for _, an := range out.Analyzers {
			if an.Status != aatypes.AnalyzerStatusActive {
				continue
			}
			days := int32(90)
			if c, ok := an.Configuration.(*aatypes.AnalyzerConfigurationMemberUnusedAccess); ok && c.Value.UnusedAccessAge != nil {
				days = *c.Value.UnusedAccessAge
			}
			return analyzerInfo{arn: aws.ToString(an.Arn), window: time.Duration(days) * 24 * time.Hour, client: client}, true
		}
	}
	return analyzerInfo{}, false
}

// findOrgAnalyzer looks, once per collection and with the base
// credentials (the management or delegated administrator account), for an
// organisation's unused access analyzer, whose findings cover the member
// accounts that have none of their own.
func (c *Collector) findOrgAnalyzer(ctx context.Context, base aws.Config) *analyzerInfo {
	if !c.cfg.Organization || c.cfg.LastAccessed == LastAccessedOff {
		return nil
	}
	if an, ok := findAnalyzer(ctx, aa.NewFromConfig(base), aatypes.TypeOrganizationUnusedAccess); ok {
		return &an
	}
	return nil
}

// readAnalyzerFindings reads, for each picked identity, its active
// UnusedPermission findings (ListFindingsV2 filtered on the resource, then
// GetFindingV2 for the unused services) and sets the use of each policy
// grant: a service the analyzer names is unused over its window, any other
// service the policy allows was used within it. A failed read is a gap
// for that identity; a refusal, one gap for the account.
func (s *accountScan) readAnalyzerFindings(ctx context.Context, an analyzerInfo, ids []nhi.Identity, picked []int) {
	end := s.c.cfg.Now().UTC()
	for n, i := range picked {
		id := &ids[i]
		unused, err := s.unusedServices(ctx, an, id.ARN)
		if err != nil {
			err = translate(err)
			if errors.Is(err, collectors.ErrDenied) {
				s.gaps.Add(s.d.account, opListFindingsV2, err, facetAccessAnalyzer)
				for _, k := range picked[n:] {
					setUnknownFrom(&ids[k], nhi.SourceAccessAnalyzer, "Access Analyzer refused (see gaps)")
				}
				return
			}
			s.gaps.AddIdentity(s.d.account, id.ID, opListFindingsV2, err, facetAccessAnalyzer)
			setUnknownFrom(id, nhi.SourceAccessAnalyzer, "Access Analyzer findings not read ("+string(collectors.GapKind(err))+", see gaps)")
			continue
		}
		docs := s.grantDocuments(ctx, id)
		for j := range id.Grants {
			g := &id.Grants[j]
			if policyGrant(g.Kind) {
				doc, ok := docs[g.ID]
				g.Use = analyzerUse(doc, ok, unused, end.Add(-an.window), end)
			}
		}
	}
}

// unusedServices returns the services an identity's active UnusedPermission
// findings name, with their last access (zero: never within the data).
func (s *accountScan) unusedServices(ctx context.Context, an analyzerInfo, resource string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	p := aa.NewListFindingsV2Paginator(an.client, &aa.ListFindingsV2Input{AnalyzerArn: aws.String(an.arn), Filter: map[string]aatypes.Criterion{
		"resource": {Eq: []string{resource}}, "findingType": {Eq: []string{string(aatypes.FindingTypeUnusedPermission)}}, "status": {Eq: []string{"ACTIVE"}},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range page.Findings {
			if err := s.findingDetails(ctx, an, aws.ToString(f.Id), out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (s *accountScan) findingDetails(ctx context.Context, an analyzerInfo, id string, out map[string]time.Time) error {
	p := aa.NewGetFindingV2Paginator(an.client, &aa.GetFindingV2Input{AnalyzerArn: aws.String(an.arn), Id: aws.String(id)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("finding %s: %w", id, err)
		}
		for _, d := range page.FindingDetails {
			if u, ok := d.(*aatypes.FindingDetailsMemberUnusedPermissionDetails); ok {
				out[strings.ToLower(aws.ToString(u.Value.ServiceNamespace))] = aws.ToTime(u.Value.LastAccessed).UTC()
			}
		}
	}
	return nil
}

// analyzerUse builds one policy grant's use from the analyzer's unused
// services. The analyzer names only what is unused: a policy that allows
// every service cannot be split into services, so its use is unknown; a
// service it does not name was used within the window, at a time it does
// not give (dated at the window's end).
func analyzerUse(doc string, docKnown bool, unused map[string]time.Time, start, end time.Time) *nhi.GrantUse {
	u := &nhi.GrantUse{Source: nhi.SourceAccessAnalyzer, WindowStart: start, WindowEnd: end, State: nhi.UsageUnknown}
	nss, all := policyNamespaces(doc)
	switch {
	case !docKnown:
		u.Reason = "the policy document was not read (see gaps)"
		return u
	case all:
		u.Reason = "the policy allows every service, and Access Analyzer names only the unused ones"
		return u
	case len(nss) == 0:
		u.Reason = "the policy allows no service"
		return u
	}
	u.State = nhi.UsageNeverUsed
	for _, ns := range nss {
		su := nhi.ServiceUse{Service: ns}
		if last, ok := unused[ns]; ok {
			if !last.IsZero() {
				su.LastUsed = last
			}
		} else {
			su.LastUsed = end
			u.State, u.LastUsed = nhi.UsageUsed, end
			u.Reason = "used within the analyzer's window; Access Analyzer gives no time, so the last use is the window's end"
		}
		u.Services = append(u.Services, su)
	}
	sort.Slice(u.Services, func(i, j int) bool { return u.Services[i].Service < u.Services[j].Service })
	return u
}
