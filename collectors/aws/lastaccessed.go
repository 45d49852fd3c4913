package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/time/rate"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Which identities the collector reads service last accessed data for
// (Config.LastAccessed).
const (
	// LastAccessedOutsideBaseline, the default: identities holding a
	// privileged grant, or a grant Config.OutsideBaseline says is outside
	// their role's baseline.
	LastAccessedOutsideBaseline = "outside-baseline"
	// LastAccessedPrivileged: identities holding a privileged grant.
	LastAccessedPrivileged = "privileged"
	// LastAccessedAll: every active identity that is not provider-managed.
	LastAccessedAll = "all"
	// LastAccessedOff: none; the entitlement-usage facet is not read.
	LastAccessedOff = "off"
)

// Defaults of the service last accessed budget.
const (
	DefaultLastAccessedMaxJobs      = 100
	DefaultLastAccessedRate         = 5.0
	DefaultLastAccessedTimeout      = 3 * time.Minute
	DefaultLastAccessedPollInterval = 2 * time.Second
)

// accessTrackingPeriod is how far back IAM's service last accessed data
// goes; trackingBegan is when IAM began tracking (no data before it).
const accessTrackingPeriod = 400 * 24 * time.Hour

var trackingBegan = time.Date(2015, 10, 1, 0, 0, 0, 0, time.UTC)

// facetAccessAdvisor is the entitlement usage read from service last
// accessed data.
var facetAccessAdvisor = nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)

// accessJob is one started job and what it returned.
type accessJob struct {
	idx  int // in the identities
	id   string
	done bool
	out  *iam.GetServiceLastAccessedDetailsOutput
}

// readLastAccessed reads IAM's service and action last accessed data
// (GenerateServiceLastAccessedDetails at action level, then
// GetServiceLastAccessedDetails until the job completes) for the
// identities the budget selects, and sets the use of each of their
// policy grants. A job that does not complete before the deadline, or
// fails, is a gap for that identity and leaves its grants' use unknown.
func (s *accountScan) readLastAccessed(ctx context.Context, ids []nhi.Identity) {
	cfg := &s.c.cfg
	if cfg.LastAccessed == LastAccessedOff {
		return
	}
	var picked []int
	for i := range ids {
		if s.c.lastAccessedWanted(&ids[i]) {
			picked = append(picked, i)
		}
	}
	sort.Slice(picked, func(a, b int) bool { return ids[picked[a]].ID < ids[picked[b]].ID })
	source := nhi.SourceAccessAdvisor
	an, useAnalyzer := s.unusedAnalyzer(ctx)
	if useAnalyzer {
		source, s.usage = nhi.SourceAccessAnalyzer, facetAccessAnalyzer
	}
	if len(picked) > cfg.LastAccessedMaxJobs {
		for _, i := range picked[cfg.LastAccessedMaxJobs:] {
			setUnknownFrom(&ids[i], source, fmt.Sprintf("not read: over the budget of %d identities per account (last_accessed_max_jobs)", cfg.LastAccessedMaxJobs))
		}
		picked = picked[:cfg.LastAccessedMaxJobs]
	}
	if useAnalyzer {
		s.readAnalyzerFindings(ctx, an, ids, picked)
		return
	}
	if len(picked) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.LastAccessedTimeout)
	defer cancel()
	lim := rate.NewLimiter(rate.Limit(cfg.LastAccessedRate), 1)
	jobs := s.startJobs(wctx, lim, ids, picked)
	s.waitJobs(wctx, lim, ids, jobs)
	for _, j := range jobs {
		if j.done {
			s.applyLastAccessed(ctx, &ids[j.idx], j.out)
		}
	}
}

// lastAccessedWanted reports whether the budget selects the identity.
func (c *Collector) lastAccessedWanted(id *nhi.Identity) bool {
	if id.ProviderManaged || id.Status != nhi.StatusActive || id.ARN == "" {
		return false
	}
	switch c.cfg.LastAccessed {
	case LastAccessedAll:
		return true
	case LastAccessedPrivileged:
		return anyPrivileged(id)
	}
	return anyPrivileged(id) || (c.cfg.OutsideBaseline != nil && c.cfg.OutsideBaseline(id))
}

func anyPrivileged(id *nhi.Identity) bool {
	for i := range id.Grants {
		if id.Grants[i].Privileged == nhi.JudgedPrivileged {
			return true
		}
	}
	return false
}

// setUnknown marks the use of every policy grant of the identity unknown.
func setUnknown(id *nhi.Identity, why string) { setUnknownFrom(id, nhi.SourceAccessAdvisor, why) }

func setUnknownFrom(id *nhi.Identity, source, why string) {
	for i := range id.Grants {
		if policyGrant(id.Grants[i].Kind) {
			id.Grants[i].Use = &nhi.GrantUse{State: nhi.UsageUnknown, Source: source, Reason: why}
		}
	}
}

func policyGrant(kind string) bool {
	return kind == "managed-policy" || kind == "inline-policy" || kind == "group-policy"
}

// startJobs starts one job per picked identity. A refusal is the
// account's (the permission is missing): one gap, and no further job.
func (s *accountScan) startJobs(ctx context.Context, lim *rate.Limiter, ids []nhi.Identity, picked []int) []*accessJob {
	var jobs []*accessJob
	for n, i := range picked {
		id := &ids[i]
		err := lim.Wait(ctx)
		var out *iam.GenerateServiceLastAccessedDetailsOutput
		if err == nil {
			out, err = s.client.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{
				Arn: aws.String(id.ARN), Granularity: types.AccessAdvisorUsageGranularityTypeActionLevel})
		}
		if err != nil {
			err = translate(err)
			if errors.Is(err, collectors.ErrDenied) {
				s.gap(opGenerateLastAccessed, err)
				for _, k := range picked[n:] {
					setUnknown(&ids[k], "Access Advisor refused (see gaps)")
				}
				return jobs
			}
			s.identityGap(id, opGenerateLastAccessed, err)
			continue
		}
		jobs = append(jobs, &accessJob{idx: i, id: aws.ToString(out.JobId)})
	}
	return jobs
}

func (s *accountScan) identityGap(id *nhi.Identity, op string, err error) {
	err = translate(err)
	f := cmp.Or(s.usage, facetAccessAdvisor)
	s.gaps.AddIdentity(s.d.account, id.ID, op, err, f)
	setUnknownFrom(id, f.Subject(), "entitlement usage not read ("+string(collectors.GapKind(err))+", see gaps)")
	s.c.cfg.Logger.Warn("aws collection gap", "account", s.d.account, "identity", id.ID, "source", op,
		"kind", string(collectors.GapKind(err)), "detail", collectors.Detail(err))
}

// waitJobs polls the jobs until each completes, fails, or the deadline
// passes; a job still running then is a timeout gap for its identity.
func (s *accountScan) waitJobs(ctx context.Context, lim *rate.Limiter, ids []nhi.Identity, jobs []*accessJob) {
	pending := slices.Clone(jobs)
	for len(pending) > 0 {
		var still []*accessJob
		for _, j := range pending {
			out, err := s.readJob(ctx, lim, j.id)
			switch {
			case err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
				still = append(still, j)
			case err != nil:
				s.identityGap(&ids[j.idx], opGetLastAccessed, err)
			case out.JobStatus == types.JobStatusTypeCompleted:
				j.done, j.out = true, out
			case out.JobStatus == types.JobStatusTypeFailed:
				msg := "job failed"
				if out.Error != nil {
					msg += ": " + aws.ToString(out.Error.Code)
				}
				s.identityGap(&ids[j.idx], opGetLastAccessed, errors.New(msg))
			default:
				still = append(still, j)
			}
		}
		pending = still
		if len(pending) == 0 || sleep(ctx, s.c.cfg.LastAccessedPollInterval) != nil {
			break
		}
	}
	for _, j := range pending {
		s.identityGap(&ids[j.idx], opGetLastAccessed, fmt.Errorf("job %s did not complete within %s: %w",
			j.id, s.c.cfg.LastAccessedTimeout, context.DeadlineExceeded))
	}
}

// readJob reads a job's status and, once it completed, every page.
func (s *accountScan) readJob(ctx context.Context, lim *rate.Limiter, jobID string) (*iam.GetServiceLastAccessedDetailsOutput, error) {
	in := &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String(jobID), MaxItems: aws.Int32(1000)}
	var all *iam.GetServiceLastAccessedDetailsOutput
	for {
		if err := lim.Wait(ctx); err != nil {
			// The deadline would pass before the call may be made.
			return nil, fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		out, err := s.client.GetServiceLastAccessedDetails(ctx, in)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = out
		} else {
			all.ServicesLastAccessed = append(all.ServicesLastAccessed, out.ServicesLastAccessed...)
		}
		if out.JobStatus != types.JobStatusTypeCompleted || !out.IsTruncated || aws.ToString(out.Marker) == "" {
			return all, nil
		}
		in.Marker = out.Marker
	}
}

// applyLastAccessed sets the use of each policy grant of the identity
// from its completed job: the services the policy allows, each with its
// last authentication and the actions seen used.
func (s *accountScan) applyLastAccessed(ctx context.Context, id *nhi.Identity, out *iam.GetServiceLastAccessedDetailsOutput) {
	end := aws.ToTime(out.JobCompletionDate).UTC()
	start := end.Add(-accessTrackingPeriod)
	if start.Before(trackingBegan) {
		start = trackingBegan
	}
	svc := make(map[string]types.ServiceLastAccessed, len(out.ServicesLastAccessed))
	for _, e := range out.ServicesLastAccessed {
		svc[strings.ToLower(aws.ToString(e.ServiceNamespace))] = e
	}
	docs := s.grantDocuments(ctx, id)
	for i := range id.Grants {
		g := &id.Grants[i]
		if !policyGrant(g.Kind) {
			continue
		}
		doc, ok := docs[g.ID]
		g.Use = grantUse(doc, ok, svc, start, end)
	}
}

// grantUse builds one policy grant's use from the job's services.
func grantUse(doc string, docKnown bool, svc map[string]types.ServiceLastAccessed, start, end time.Time) *nhi.GrantUse {
	u := &nhi.GrantUse{Source: nhi.SourceAccessAdvisor, WindowStart: start, WindowEnd: end, State: nhi.UsageUnknown}
	if !docKnown {
		u.Reason = "the policy document was not read (see gaps)"
		return u
	}
	nss, all := policyNamespaces(doc)
	if all {
		nss = nss[:0]
		for ns := range svc {
			nss = append(nss, ns)
		}
		sort.Strings(nss)
	}
	if len(nss) == 0 {
		u.Reason = "the policy allows no service Access Advisor reports"
		return u
	}
	u.State = nhi.UsageNeverUsed
	for _, ns := range nss {
		e, ok := svc[ns]
		if !ok {
			*u = nhi.GrantUse{Source: u.Source, State: nhi.UsageUnknown, WindowStart: start, WindowEnd: end,
				Reason: "Access Advisor does not report the service " + ns}
			return u
		}
		su := nhi.ServiceUse{Service: ns, LastUsed: aws.ToTime(e.LastAuthenticated).UTC()}
		if e.LastAuthenticated == nil {
			su.LastUsed = time.Time{}
		}
		for _, a := range e.TrackedActionsLastAccessed {
			if a.LastAccessedTime != nil {
				su.Actions = append(su.Actions, ns+":"+aws.ToString(a.ActionName))
			}
		}
		if su.LastUsed.After(u.LastUsed) {
			u.State, u.LastUsed = nhi.UsageUsed, su.LastUsed
		}
		u.Used = append(u.Used, su.Actions...)
		u.Services = append(u.Services, su)
	}
	return u
}

// policyNamespaces returns the service namespaces a document's Allow
// statements name, sorted; all is true when it allows every service (an
// action "*", a wildcard namespace, or NotAction).
func policyNamespaces(doc string) (nss []string, all bool) {
	p, ok := parsePolicy(doc)
	if !ok {
		return nil, false
	}
	for _, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		if len(st.NotAction) > 0 {
			all = true
		}
		for _, a := range st.Action {
			ns, _, found := strings.Cut(a, ":")
			if !found || strings.Contains(ns, "*") {
				all = true
				continue
			}
			nss = append(nss, strings.ToLower(ns))
		}
	}
	sort.Strings(nss)
	return slices.Compact(nss), all
}

// grantDocuments returns the documents of the identity's policy grants
// by grant id: inline and group policies from the authorization details,
// customer managed policies from their default versions, AWS managed
// policies with GetPolicy and GetPolicyVersion (once per account). A
// grant whose document could not be read is absent.
func (s *accountScan) grantDocuments(ctx context.Context, id *nhi.Identity) map[string]string {
	docs := map[string]string{}
	inline, groups := s.inlineOf(id)
	for name, doc := range inline {
		docs["inline-policy:"+name] = doc
	}
	for i := range id.Grants {
		g := &id.Grants[i]
		switch g.Kind {
		case "managed-policy", "group-policy":
			if strings.Contains(g.ID, ":inline:") {
				if d, ok := groups[g.ID]; ok {
					docs[g.ID] = d
				}
				continue
			}
			if d, ok := s.managedDocument(ctx, id, g.Entitlement); ok {
				docs[g.ID] = d
			}
		}
	}
	return docs
}

// inlineOf returns the identity's inline policy documents by name, and
// its groups' inline documents by grant id.
func (s *accountScan) inlineOf(id *nhi.Identity) (map[string]string, map[string]string) {
	inline, groups := map[string]string{}, map[string]string{}
	for _, r := range s.d.roles {
		if aws.ToString(r.RoleId) == id.NativeID {
			for _, p := range r.RolePolicyList {
				inline[aws.ToString(p.PolicyName)] = decodeDoc(aws.ToString(p.PolicyDocument))
			}
		}
	}
	for _, u := range s.d.users {
		if aws.ToString(u.UserId) != id.NativeID {
			continue
		}
		for _, p := range u.UserPolicyList {
			inline[aws.ToString(p.PolicyName)] = decodeDoc(aws.ToString(p.PolicyDocument))
		}
		for _, gname := range u.GroupList {
			for _, p := range s.d.groups[gname].GroupPolicyList {
				groups["group-policy:"+gname+":inline:"+aws.ToString(p.PolicyName)] = decodeDoc(aws.ToString(p.PolicyDocument))
			}
		}
	}
	return inline, groups
}

// managedDocument returns a managed policy's default document: a customer
// managed one from the authorization details, an AWS managed one read
// once per account.
func (s *accountScan) managedDocument(ctx context.Context, id *nhi.Identity, arn string) (string, bool) {
	if d, ok := s.d.policies[arn]; ok && d != "" {
		return d, true
	}
	if s.d.awsManaged == nil {
		s.d.awsManaged = map[string]string{}
	}
	if d, ok := s.d.awsManaged[arn]; ok {
		return d, d != ""
	}
	doc, op, err := readManaged(ctx, s.client, arn)
	if err != nil {
		s.d.awsManaged[arn] = ""
		s.identityGap(id, op, fmt.Errorf("policy %s: %w", arn, err))
		return "", false
	}
	s.d.awsManaged[arn] = doc
	return doc, true
}

func readManaged(ctx context.Context, client *iam.Client, arn string) (string, string, error) {
	p, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return "", opGetPolicy, err
	}
	v, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		return "", opGetPolicyVersion, err
	}
	return decodeDoc(aws.ToString(v.PolicyVersion.Document)), "", nil
}
