package aws

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Collect scans every configured account concurrently. A failed call
// becomes a gap naming the facets it hides; Collect fails only when no
// account could be attempted.
func (c *Collector) Collect(ctx context.Context) (nhi.Inventory, error) {
	if err := ctx.Err(); err != nil {
		return nhi.Inventory{}, fmt.Errorf("aws: %w", err)
	}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: c.cfg.Now().UTC()}
	base, err := c.sessions.baseConfig(ctx)
	if err != nil {
		return inv, err
	}
	gaps := collectors.NewGaps(nhi.AWS, ops)
	plan, err := c.plan(ctx, base)
	if err != nil {
		return inv, err
	}
	org := c.findOrgAnalyzer(ctx, base)
	if plan.listErr != nil {
		// Accounts on the pages not read are unknown: a trust policy
		// naming one would look external. The listed accounts are still
		// scanned; only their trust facet is hidden.
		for _, s := range plan.scopes {
			c.gap(gaps, s.ID, opListAccounts, plan.listErr)
		}
	}
	results := make([][]nhi.Identity, len(plan.scopes))
	usage := make([]nhi.Facet, len(plan.scopes))
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for i, s := range plan.scopes {
		g.Go(func() error {
			actx, cancel := context.WithTimeout(gctx, c.cfg.AccountTimeout)
			defer cancel()
			results[i], usage[i] = c.collectAccount(actx, accountRef{s.ID, org}, plan.known, gaps)
			c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.AWS, Scope: s.ID, Identities: len(results[i]),
				Gaps: gaps.Count(s.ID), Done: int(done.Add(1)), Total: len(plan.scopes)})
			return nil
		})
	}
	_ = g.Wait()
	for _, r := range results {
		inv.Identities = append(inv.Identities, r...)
	}
	for i := range plan.scopes {
		plan.scopes[i].Facets = slices.Clone(accountFacets)
		if c.cfg.LastAccessed != LastAccessedOff {
			// Access Analyzer's findings where the account has an unused
			// access analyzer, else Access Advisor's.
			plan.scopes[i].Facets = append(plan.scopes[i].Facets, cmp.Or(usage[i], facetAccessAdvisor))
		}
	}
	inv.Scopes = plan.scopes
	inv.Gaps = gaps.List()
	inv.Normalize()
	if err := ctx.Err(); err != nil && len(inv.Identities) == 0 {
		return inv, fmt.Errorf("aws: %w", err)
	}
	c.cfg.Logger.Info("aws collection done", "accounts", len(plan.scopes), "identities", len(inv.Identities), "gaps", len(inv.Gaps))
	return inv, nil
}

// Accounts lists the accounts Collect would scan and those it counts as
// not external (every member of the organisation whatever its state, the
// scanned and the trusted accounts), so that each account can be collected
// on its own (Accounts set to it, TrustedAccounts to known) and judged as
// one Collect judges it. An organisation listing cut short is an error
// here: which accounts are external would be unknown.
func (c *Collector) Accounts(ctx context.Context) (scopes []nhi.Scope, known []string, err error) {
	base, err := c.sessions.baseConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	plan, err := c.plan(ctx, base)
	if err == nil && plan.listErr != nil {
		err = fmt.Errorf("aws: list organization accounts: %w", translate(plan.listErr))
	}
	if err != nil {
		return nil, nil, err
	}
	for a := range plan.known {
		known = append(known, a)
	}
	sort.Strings(known)
	return plan.scopes, known, nil
}

// gap records that op failed in account.
func (c *Collector) gap(gaps *collectors.Gaps, account, op string, err error) {
	err = translate(err)
	gaps.Add(account, op, err)
	c.cfg.Logger.Warn("aws collection gap", "account", account, "source", op,
		"kind", string(collectors.GapKind(err)), "detail", collectors.Detail(err))
}

// scanPlan is the accounts to scan and the accounts that are not external.
type scanPlan struct {
	scopes []nhi.Scope
	// known lists the scanned accounts, every member of the organisation
	// whatever its state, and the trusted accounts.
	known map[string]bool
	// listErr is set when the organisation's account list was cut short.
	listErr error
}

// plan resolves the accounts to scan.
func (c *Collector) plan(ctx context.Context, base aws.Config) (scanPlan, error) {
	p := scanPlan{known: map[string]bool{}}
	add := func(id, name string) {
		if !p.known[id] {
			p.scopes = append(p.scopes, nhi.Scope{Provider: nhi.AWS, ID: id, Name: name})
		}
		p.known[id] = true
	}
	if c.cfg.Organization {
		accounts, err := listAccounts(ctx, base)
		for _, a := range accounts {
			if active(a) {
				add(aws.ToString(a.Id), aws.ToString(a.Name))
			} else {
				c.cfg.Logger.Info("skipping account that is not active", "account", aws.ToString(a.Id), "state", string(a.State))
			}
		}
		for _, a := range accounts {
			p.known[aws.ToString(a.Id)] = true // suspended or closing members are not external
		}
		if err != nil && len(p.scopes) == 0 && len(c.cfg.Accounts) == 0 {
			return p, fmt.Errorf("aws: list organization accounts: %w", translate(err))
		}
		p.listErr = err
	}
	for _, a := range c.cfg.Accounts {
		add(a, "")
	}
	if len(p.scopes) == 0 && !c.cfg.Organization {
		id, err := sts.NewFromConfig(base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return p, fmt.Errorf("aws: find the account of the credentials: %w", translate(err))
		}
		add(aws.ToString(id.Account), "")
	}
	for _, a := range c.cfg.TrustedAccounts {
		p.known[a] = true
	}
	sort.Slice(p.scopes, func(i, j int) bool { return p.scopes[i].ID < p.scopes[j].ID })
	return p, nil
}

// listAccounts lists the organisation's accounts, returning those of the
// pages read before an error.
func listAccounts(ctx context.Context, base aws.Config) ([]orgtypes.Account, error) {
	var out []orgtypes.Account
	p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(base), &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, page.Accounts...)
	}
	return out, nil
}

func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive //nolint:staticcheck // older API responses carry only Status
}

// accountData is what the API calls for one account returned. A list whose
// call failed is left empty and marked not known: nothing partial from it
// is mapped.
type accountData struct {
	account   string
	users     []types.UserDetail
	roles     []types.RoleDetail
	groups    map[string]types.GroupDetail
	policies  map[string]string // local managed policy ARN -> decoded default document
	report    *credentialReport // nil when not read
	reportWhy string
	keys      map[string][]types.AccessKeyMetadata // by user name
	keysKnown map[string]bool                      // users whose keys were listed
	sscs      map[string][]types.ServiceSpecificCredentialMetadata
	sscKnown  bool
	// keyUse is GetAccessKeyLastUsed's answer for the keys the report
	// cannot tell apart, by key id; keyUseWhy says why a key asked about
	// has none.
	keyUse    map[string]types.AccessKeyLastUsed
	keyUseWhy map[string]string
	keyUseAt  time.Time
	// roleDetails is what ListRoles adds to GetAccountAuthorizationDetails,
	// by role id; nil when ListRoles failed.
	roleDetails map[string]types.Role
	// awsManaged holds AWS managed policy documents read for Access
	// Advisor, by ARN ("" when the read failed).
	awsManaged map[string]string
}

// accountRef is an account to collect and the organisation's unused
// access analyzer (nil without one).
type accountRef struct {
	id  string
	org *analyzerInfo
}

// accountScan reads one account.
type accountScan struct {
	c      *Collector
	client *iam.Client
	// awsCfg is the account's SDK configuration (for clients other than
	// IAM's); usage is the entitlement usage facet read in the account.
	awsCfg aws.Config
	usage  nhi.Facet
	// org is the organisation's unused access analyzer, if any: read for
	// an account without one of its own.
	org  *analyzerInfo
	gaps *collectors.Gaps
	d    accountData
}

func (s *accountScan) gap(op string, err error) { s.c.gap(s.gaps, s.d.account, op, err) }

// collectAccount makes the fewest calls that inventory one account:
// AssumeRole, GenerateCredentialReport (asynchronous, so first), the pages of
// GetAccountAuthorizationDetails, ListServiceSpecificCredentials for all
// users, the report itself, and ListAccessKeys for users the report shows
// with keys.
func (c *Collector) collectAccount(ctx context.Context, ref accountRef, known map[string]bool, gaps *collectors.Gaps) ([]nhi.Identity, nhi.Facet) {
	s := &accountScan{c: c, gaps: gaps, org: ref.org, d: accountData{account: ref.id, groups: map[string]types.GroupDetail{}, policies: map[string]string{},
		keys: map[string][]types.AccessKeyMetadata{}, keysKnown: map[string]bool{}, sscs: map[string][]types.ServiceSpecificCredentialMetadata{},
		keyUse: map[string]types.AccessKeyLastUsed{}, keyUseWhy: map[string]string{}}}
	if !s.assume(ctx) {
		return nil, ""
	}
	reportReady, genErr := startReport(ctx, s.client)
	if !s.readAuthDetails(ctx) {
		return nil, ""
	}
	if len(s.d.roles) > 0 {
		s.readRoleDetails(ctx)
	}
	if len(s.d.users) > 0 {
		s.readServiceCreds(ctx)
		s.readReport(ctx, reportReady, genErr)
		s.readAccessKeys(ctx)
		s.readKeyLastUsed(ctx)
	}
	ids := c.mapAccount(&s.d, known)
	s.readLastAccessed(ctx, ids)
	return ids, s.usage
}

// assume makes the account's IAM client, assuming RoleName there when set.
func (s *accountScan) assume(ctx context.Context) bool {
	client, cfg, err := s.c.sessions.iam(ctx, s.d.account)
	if err == nil && s.c.cfg.RoleName != "" {
		if _, err = cfg.Credentials.Retrieve(ctx); err != nil {
			err = fmt.Errorf("assume %s: %w", s.c.sessions.roleARN(s.d.account), err)
		}
	}
	if err != nil {
		s.gap(opAssumeRole, err)
		return false
	}
	s.client, s.awsCfg = client, cfg
	return true
}

// readAuthDetails reads users, roles, groups and customer managed policies.
// Without all of them nothing of the account is mapped.
func (s *accountScan) readAuthDetails(ctx context.Context) bool {
	p := iam.NewGetAccountAuthorizationDetailsPaginator(s.client, &iam.GetAccountAuthorizationDetailsInput{
		Filter:   []types.EntityType{types.EntityTypeUser, types.EntityTypeRole, types.EntityTypeGroup, types.EntityTypeLocalManagedPolicy},
		MaxItems: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			s.gap(opAuthDetails, err)
			return false
		}
		s.d.users = append(s.d.users, page.UserDetailList...)
		s.d.roles = append(s.d.roles, page.RoleDetailList...)
		for _, g := range page.GroupDetailList {
			s.d.groups[aws.ToString(g.GroupName)] = g
		}
		for _, pol := range page.Policies {
			s.d.policies[aws.ToString(pol.Arn)] = defaultDocument(pol)
		}
	}
	return true
}

// readRoleDetails reads the role descriptions and maximum session
// durations, which GetAccountAuthorizationDetails does not return, with
// the pages of ListRoles. On failure the roles have none.
func (s *accountScan) readRoleDetails(ctx context.Context) {
	details := make(map[string]types.Role, len(s.d.roles))
	p := iam.NewListRolesPaginator(s.client, &iam.ListRolesInput{MaxItems: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			s.gap(opListRoles, err)
			return
		}
		for _, r := range page.Roles {
			details[aws.ToString(r.RoleId)] = r
		}
	}
	s.d.roleDetails = details
}

// readServiceCreds lists the service-specific credentials of every user.
func (s *accountScan) readServiceCreds(ctx context.Context) {
	sscs := map[string][]types.ServiceSpecificCredentialMetadata{}
	in := &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true)}
	for {
		page, err := s.client.ListServiceSpecificCredentials(ctx, in)
		if err != nil {
			s.gap(opServiceCreds, err)
			return
		}
		for _, c := range page.ServiceSpecificCredentials {
			sscs[aws.ToString(c.UserName)] = append(sscs[aws.ToString(c.UserName)], c)
		}
		if !page.IsTruncated || aws.ToString(page.Marker) == "" {
			break
		}
		in.Marker = page.Marker
	}
	s.d.sscs, s.d.sscKnown = sscs, true
}

// readReport reads the credential report. When generating it failed and
// no earlier report exists, the gap names the generation.
func (s *accountScan) readReport(ctx context.Context, ready bool, genErr error) {
	rep, op, err := s.c.readReport(ctx, s.client, ready, genErr)
	if err == nil {
		s.d.report = rep
		return
	}
	s.d.reportWhy = "credential report not read (" + string(collectors.GapKind(translate(err))) + ", see gaps)"
	if genErr != nil {
		s.gap(opGenerateReport, genErr)
		if reportMissing(err) {
			return
		}
	}
	s.gap(op, err)
}

// readAccessKeys lists the access keys of every user the report shows with
// keys (every user, without a report). A user whose keys were not all
// listed gets none, and one gap counts them.
func (s *accountScan) readAccessKeys(ctx context.Context) {
	var failed []string
	var first error
	for _, u := range s.d.users {
		name := aws.ToString(u.UserName)
		if s.d.report != nil && !s.d.report.hasKeys(name, aws.ToTime(u.CreateDate)) {
			s.d.keysKnown[name] = true
			continue
		}
		keys, err := listAccessKeys(ctx, s.client, u.UserName)
		if err != nil {
			// Out of time or refused: this user's keys are a gap, never
			// a user without keys.
			failed = append(failed, name)
			if first == nil {
				first = err
			}
			continue
		}
		s.d.keys[name], s.d.keysKnown[name] = keys, true
	}
	if first != nil {
		s.gap(opAccessKeys, fmt.Errorf("access keys of %d users not listed, first %s: %w", len(failed), failed[0], first))
	}
}

// readKeyLastUsed asks GetAccessKeyLastUsed about exactly the keys the
// credential report cannot tell apart: two keys of one user created in the
// same second (the report's join key) and used differently. A key whose
// call failed keeps usage unknown, and one gap counts them.
func (s *accountScan) readKeyLastUsed(ctx context.Context) {
	var failed []string
	var first error
	s.d.keyUseAt = s.c.cfg.Now().UTC()
	for _, u := range s.d.users {
		name := aws.ToString(u.UserName)
		r := s.d.reportRow(name, aws.ToTime(u.CreateDate))
		for _, k := range s.d.keys[name] {
			if !ambiguous(k, r) {
				continue
			}
			id := aws.ToString(k.AccessKeyId)
			out, err := s.client.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
			if err != nil {
				failed = append(failed, id)
				first = cmp.Or(first, err)
				s.d.keyUseWhy[id] = "the credential report cannot tell this key's use from its twin's, and GetAccessKeyLastUsed failed (" +
					string(collectors.GapKind(translate(err))) + ", see gaps)"
				continue
			}
			if out.AccessKeyLastUsed != nil {
				s.d.keyUse[id] = *out.AccessKeyLastUsed
			} else {
				s.d.keyUse[id] = types.AccessKeyLastUsed{}
			}
		}
	}
	if first != nil {
		s.gap(opKeyLastUsed, fmt.Errorf("last use of %d access keys not read, first %s: %w", len(failed), failed[0], translate(first)))
	}
}

func listAccessKeys(ctx context.Context, client *iam.Client, user *string) ([]types.AccessKeyMetadata, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var keys []types.AccessKeyMetadata
	p := iam.NewListAccessKeysPaginator(client, &iam.ListAccessKeysInput{UserName: user})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		keys = append(keys, page.AccessKeyMetadata...)
	}
	return keys, nil
}
