package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

type accountResult struct {
	identities []nhi.Identity
	gaps       []nhi.Gap
}

// accountData is what the API calls for one account returned.
type accountData struct {
	account   string
	users     []types.UserDetail
	roles     []types.RoleDetail
	groups    map[string]types.GroupDetail
	policies  map[string]string // local managed policy ARN -> decoded default document
	report    *credentialReport // nil when unavailable
	reportWhy string
	keys      map[string][]types.AccessKeyMetadata // by user name
	keysKnown map[string]bool                      // users whose keys were listed
	sscs      map[string][]types.ServiceSpecificCredentialMetadata
	sscKnown  bool
}

// collectAccount makes the fewest calls that inventory one account:
// AssumeRole, GenerateCredentialReport (asynchronous, so first), the pages of
// GetAccountAuthorizationDetails, ListServiceSpecificCredentials for all
// users, the report itself, and ListAccessKeys for users the report shows
// with keys.
func (c *Collector) collectAccount(ctx context.Context, account string, known map[string]bool) accountResult {
	var res accountResult
	gap := func(err error, source, perm string, usageOnly bool) {
		g := gapFor(err, account, source, perm, usageOnly)
		res.gaps = append(res.gaps, g)
		c.cfg.Logger.Warn("aws collection gap", "account", account, "source", source, "kind", string(g.Kind), "detail", g.Detail)
	}
	client, cfg, err := c.iamClient(ctx, account)
	if err != nil {
		gap(err, "sts:AssumeRole", "sts:AssumeRole", false)
		return res
	}
	if c.cfg.RoleName != "" {
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			gap(err, "sts:AssumeRole", "sts:AssumeRole on "+c.roleARN(account), false)
			return res
		}
	}
	d := accountData{account: account, groups: map[string]types.GroupDetail{}, policies: map[string]string{},
		keys: map[string][]types.AccessKeyMetadata{}, keysKnown: map[string]bool{}, sscs: map[string][]types.ServiceSpecificCredentialMetadata{}}

	reportReady, genErr := c.startReport(ctx, client)

	p := iam.NewGetAccountAuthorizationDetailsPaginator(client, &iam.GetAccountAuthorizationDetailsInput{
		Filter:   []types.EntityType{types.EntityTypeUser, types.EntityTypeRole, types.EntityTypeGroup, types.EntityTypeLocalManagedPolicy},
		MaxItems: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			gap(err, "iam:GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails", false)
			return res
		}
		d.users = append(d.users, page.UserDetailList...)
		d.roles = append(d.roles, page.RoleDetailList...)
		for _, g := range page.GroupDetailList {
			d.groups[aws.ToString(g.GroupName)] = g
		}
		for _, pol := range page.Policies {
			d.policies[aws.ToString(pol.Arn)] = defaultDocument(pol)
		}
	}

	if len(d.users) > 0 {
		d.sscKnown = true
		in := &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true)}
		for {
			page, err := client.ListServiceSpecificCredentials(ctx, in)
			if err != nil {
				gap(err, "iam:ListServiceSpecificCredentials", "iam:ListServiceSpecificCredentials", false)
				d.sscKnown = false
				break
			}
			for _, s := range page.ServiceSpecificCredentials {
				d.sscs[aws.ToString(s.UserName)] = append(d.sscs[aws.ToString(s.UserName)], s)
			}
			if !page.IsTruncated || aws.ToString(page.Marker) == "" {
				break
			}
			in.Marker = page.Marker
		}
	}

	if len(d.users) > 0 {
		rep, err := c.readReport(ctx, client, reportReady, genErr)
		switch {
		case err == nil:
			d.report = rep
		default:
			src, perm := "iam:GetCredentialReport", "iam:GetCredentialReport"
			if genErr != nil && !reportReady {
				src, perm = "iam:GenerateCredentialReport", "iam:GenerateCredentialReport"
			}
			gap(err, src, perm, true)
			d.reportWhy = "credential report unavailable (" + apiCodeOr(err) + ")"
		}
	}

	var keyErr error
	var keyErrUsers []string
	for _, u := range d.users {
		name := aws.ToString(u.UserName)
		if d.report != nil && !d.report.hasKeys(name, aws.ToTime(u.CreateDate)) {
			d.keysKnown[name] = true
			continue
		}
		if err := ctx.Err(); err != nil {
			// Out of time: every user still to be listed is a gap, never
			// a user without keys.
			keyErr = err
			keyErrUsers = append(keyErrUsers, name)
			continue
		}
		kp := iam.NewListAccessKeysPaginator(client, &iam.ListAccessKeysInput{UserName: u.UserName})
		ok := true
		for kp.HasMorePages() {
			page, err := kp.NextPage(ctx)
			if err != nil {
				keyErr, ok = err, false
				keyErrUsers = append(keyErrUsers, name)
				break
			}
			d.keys[name] = append(d.keys[name], page.AccessKeyMetadata...)
		}
		d.keysKnown[name] = ok
	}
	if keyErr != nil {
		g := gapFor(keyErr, account, "iam:ListAccessKeys", "iam:ListAccessKeys", false)
		g.Detail = fmt.Sprintf("%s for %d users, first %s", g.Detail, len(keyErrUsers), keyErrUsers[0])
		res.gaps = append(res.gaps, g)
	}
	res.identities = c.mapAccount(d, known)
	return res
}

func apiCodeOr(err error) string {
	if code := apiCode(err); code != "" {
		return code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "error"
}

// startReport asks IAM to generate the credential report. It reports
// whether a complete report is already available.
func (c *Collector) startReport(ctx context.Context, client *iam.Client) (bool, error) {
	out, err := client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
	if err != nil {
		return false, err
	}
	return out.State == types.ReportStateTypeComplete, nil
}

// readReport waits for the credential report, polling
// GenerateCredentialReport, then reads it.
func (c *Collector) readReport(ctx context.Context, client *iam.Client, ready bool, genErr error) (*credentialReport, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReportTimeout)
	defer cancel()
	wait := time.Duration(0)
	for {
		if !ready && genErr == nil {
			if wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, fmt.Errorf("wait for the credential report: %w", ctx.Err())
				case <-t.C:
				}
			}
			out, err := client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
			if err != nil {
				return nil, err
			}
			ready = out.State == types.ReportStateTypeComplete
			wait = c.cfg.ReportPollInterval
			if !ready {
				continue
			}
		}
		out, err := client.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		if err != nil {
			if code := apiCode(err); (code == "ReportInProgress" || code == "ReportNotPresent" || code == "ReportExpired") && genErr == nil {
				ready = false
				wait = c.cfg.ReportPollInterval
				continue
			}
			return nil, err
		}
		rep, err := parseReport(out.Content)
		if err != nil {
			return nil, fmt.Errorf("parse credential report: %w", err)
		}
		rep.generated = aws.ToTime(out.GeneratedTime).UTC()
		return rep, nil
	}
}

// defaultDocument returns the decoded default version of a managed policy.
func defaultDocument(p types.ManagedPolicyDetail) string {
	for _, v := range p.PolicyVersionList {
		if v.IsDefaultVersion || aws.ToString(v.VersionId) == aws.ToString(p.DefaultVersionId) {
			return decodeDoc(aws.ToString(v.Document))
		}
	}
	return ""
}

func tagMap(ts []types.Tag) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func (c *Collector) ownerHints(tags map[string]string) []nhi.OwnerHint {
	var out []nhi.OwnerHint
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		v := strings.ToLower(strings.TrimSpace(tags[k]))
		if v == "" || seen[v] {
			continue
		}
		for _, want := range c.cfg.OwnerTagKeys {
			if strings.EqualFold(k, want) {
				seen[v] = true
				out = append(out, nhi.OwnerHint{Source: "tag", Value: v})
				break
			}
		}
	}
	return out
}
