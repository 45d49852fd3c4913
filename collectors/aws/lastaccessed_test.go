package aws_test

import (
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

func lastAccessed(mode string) func(*awscol.Config) {
	return func(c *awscol.Config) {
		c.LastAccessed = mode
		c.LastAccessedPollInterval = time.Millisecond
		c.LastAccessedRate = 1000
	}
}

func grantByID(t *testing.T, id nhi.Identity, grantID string) nhi.Grant {
	t.Helper()
	for _, g := range id.Grants {
		if g.ID == grantID {
			return g
		}
	}
	t.Fatalf("%s has no grant %s", id.Name, grantID)
	return nhi.Grant{}
}

// The use of each policy grant comes from the identity's job: every
// service the policy allows, with its last authentication and the actions
// AWS tracks, over the tracking period up to the job's completion.
func TestLastAccessedGrantUse(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	inv := collectortest.Collect(t, newCollector(t, srv, lastAccessed(awscol.LastAccessedPrivileged)))
	if len(inv.Gaps) != 0 {
		t.Fatalf("gaps: %+v", inv.Gaps)
	}
	tf := byName(t, inv, awsfake.DemoManagement, "platform-terraform")
	u := grantByID(t, tf, "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess").Use
	if u == nil || u.State != nhi.UsageUsed || u.Source != nhi.SourceAccessAdvisor {
		t.Fatalf("AdministratorAccess use = %+v", u)
	}
	if !u.WindowEnd.Equal(now.Truncate(time.Second)) || !u.WindowStart.Equal(u.WindowEnd.Add(-400*24*time.Hour)) {
		t.Errorf("window %s..%s, want 400 days up to the job's completion", u.WindowStart, u.WindowEnd)
	}
	got := map[string]time.Time{}
	for _, s := range u.Services {
		got[s.Service] = s.LastUsed
	}
	if len(got) != 4 || !got["dynamodb"].Equal(now.Truncate(time.Second).AddDate(0, 0, -200)) || got["s3"].IsZero() {
		t.Errorf("services = %v", got)
	}
	if len(u.Used) == 0 || u.Used[0] != "iam:GetRole" {
		t.Errorf("used actions = %v", u.Used)
	}
	legacy := byName(t, inv, awsfake.DemoManagement, "security-scanner-legacy")
	lu := grantByID(t, legacy, "managed-policy:arn:aws:iam::aws:policy/IAMFullAccess").Use
	if lu == nil || lu.State != nhi.UsageUsed || len(lu.Services) != 2 || lu.Services[1].Service != "organizations" || !lu.Services[1].LastUsed.IsZero() {
		t.Errorf("IAMFullAccess use = %+v", lu)
	}
	// Not privileged: not selected, no use recorded.
	for _, g := range byName(t, inv, awsfake.DemoPayments, "payments-api-runtime").Grants {
		if g.Use != nil {
			t.Errorf("unselected identity has use %+v", g.Use)
		}
	}
	for _, sc := range inv.Scopes {
		if !inv.Coverage().Observed(nhi.AWS, sc.ID, nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)) {
			t.Errorf("%s: entitlement usage not observed", sc.ID)
		}
	}
}

// Budget: one job (Generate + one status read) per selected identity, and
// each AWS managed policy document read once per account; nothing for the
// others; nothing at all when off.
func TestLastAccessedCallBudget(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	inv := collectortest.Collect(t, newCollector(t, srv, lastAccessed(awscol.LastAccessedPrivileged)))
	for _, acct := range []string{awsfake.DemoManagement, awsfake.DemoPayments, awsfake.DemoData} {
		selected, managed := 0, map[string]bool{}
		for _, id := range inv.Identities {
			if id.Scope != acct || id.Status != nhi.StatusActive || id.ProviderManaged {
				continue
			}
			priv := false
			for _, g := range id.Grants {
				priv = priv || g.Privileged == nhi.JudgedPrivileged
			}
			if !priv {
				continue
			}
			selected++
			for _, g := range id.Grants {
				if g.Kind == "managed-policy" && len(g.Entitlement) > 20 && g.Entitlement[:20] == "arn:aws:iam::aws:pol" {
					managed[g.Entitlement] = true
				}
			}
		}
		calls := srv.AccountCalls(acct)
		if calls["iam:GenerateServiceLastAccessedDetails"] != selected || calls["iam:GetServiceLastAccessedDetails"] != selected {
			t.Errorf("%s: %d generate, %d get calls for %d selected identities", acct,
				calls["iam:GenerateServiceLastAccessedDetails"], calls["iam:GetServiceLastAccessedDetails"], selected)
		}
		if calls["iam:GetPolicy"] != len(managed) || calls["iam:GetPolicyVersion"] != len(managed) {
			t.Errorf("%s: %d GetPolicy, %d GetPolicyVersion for %d AWS managed policies", acct, calls["iam:GetPolicy"], calls["iam:GetPolicyVersion"], len(managed))
		}
	}
	off := startFake(t, awsfake.Demo(now))
	inv = collectortest.Collect(t, newCollector(t, off, lastAccessed(awscol.LastAccessedOff)))
	if n := off.CallCount("iam:GenerateServiceLastAccessedDetails") + off.CallCount("iam:GetPolicy"); n != 0 {
		t.Errorf("off made %d Access Advisor calls", n)
	}
	if inv.Coverage().Observed(nhi.AWS, awsfake.DemoManagement, nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)) {
		t.Error("off: entitlement usage counted as observed")
	}
}

// Over the job budget, identities keep their grants' use unknown, without
// a call.
func TestLastAccessedMaxJobs(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) {
		lastAccessed(awscol.LastAccessedAll)(c)
		c.LastAccessedMaxJobs = 1
	}))
	for _, acct := range []string{awsfake.DemoManagement, awsfake.DemoPayments, awsfake.DemoData} {
		if n := srv.AccountCalls(acct)["iam:GenerateServiceLastAccessedDetails"]; n != 1 {
			t.Errorf("%s: %d jobs, want 1", acct, n)
		}
	}
	unknown := 0
	for _, id := range inv.Identities {
		for _, g := range id.Grants {
			if g.Use != nil && g.Use.State == nhi.UsageUnknown {
				unknown++
			}
		}
	}
	if unknown == 0 {
		t.Error("identities over the budget have no unknown use")
	}
}

// A job that never finishes within the deadline is a timeout gap for that
// identity only, and its grants' use is unknown: no finding can rest on it.
func TestLastAccessedJobNeverFinishes(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.SetJobRounds(-1)
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) {
		lastAccessed(awscol.LastAccessedPrivileged)(c)
		c.LastAccessedTimeout = 50 * time.Millisecond
	}))
	tf := byName(t, inv, awsfake.DemoManagement, "platform-terraform")
	var gap *nhi.Gap
	for i, g := range inv.Gaps {
		if g.Identity == tf.ID {
			gap = &inv.Gaps[i]
		}
	}
	if gap == nil || gap.Kind != nhi.GapTimeout || gap.Source != "iam:GetServiceLastAccessedDetails" {
		t.Fatalf("gap for %s = %+v (all %+v)", tf.ID, gap, inv.Gaps)
	}
	if u := grantByID(t, tf, "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess").Use; u == nil || u.State != nhi.UsageUnknown {
		t.Errorf("use = %+v, want unknown", u)
	}
	cov := inv.Coverage()
	f := nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)
	if !cov.Observed(nhi.AWS, awsfake.DemoManagement, f) || cov.IdentityGap(nhi.AWS, awsfake.DemoManagement, tf.ID, f) == nil {
		t.Error("an identity's timeout must hide the facet for that identity only")
	}
	// Polls stop at the deadline: a handful, not a loop.
	if n := srv.AccountCalls(awsfake.DemoManagement)["iam:GetServiceLastAccessedDetails"]; n > 200 {
		t.Errorf("%d status calls before the deadline", n)
	}
}

// A refused job start is the account's: one gap hiding the facet there,
// and no further job.
func TestLastAccessedDenied(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.Deny(awsfake.DemoPayments, "iam:GenerateServiceLastAccessedDetails")
	inv := collectortest.Collect(t, newCollector(t, srv, lastAccessed(awscol.LastAccessedAll)))
	f := nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)
	if inv.Coverage().Observed(nhi.AWS, awsfake.DemoPayments, f) {
		t.Error("denied: entitlement usage counted as observed")
	}
	if !inv.Coverage().Observed(nhi.AWS, awsfake.DemoData, f) {
		t.Error("another account's entitlement usage hidden")
	}
	if n := srv.AccountCalls(awsfake.DemoPayments)["iam:GenerateServiceLastAccessedDetails"]; n != 1 {
		t.Errorf("%d job starts after a refusal, want 1", n)
	}
}

// Jobs answering with more services than a page holds are read page by
// page.
func TestLastAccessedPaging(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.SetPageSize(1)
	inv := collectortest.Collect(t, newCollector(t, srv, lastAccessed(awscol.LastAccessedPrivileged)))
	tf := byName(t, inv, awsfake.DemoManagement, "platform-terraform")
	if u := grantByID(t, tf, "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess").Use; u == nil || len(u.Services) != 4 {
		t.Errorf("use over pages = %+v", u)
	}
}

// Where the account has an unused access analyzer, its findings are read
// instead of Access Advisor jobs, and the source is recorded: on each
// grant's use and as the account's entitlement-usage facet.
func TestAccessAnalyzerInstead(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		if seed.Accounts[i].ID == awsfake.DemoManagement {
			seed.Accounts[i].UnusedAnalyzer = &awsfake.Analyzer{Name: "unused", UnusedAccessAge: 90}
		}
	}
	srv := startFake(t, seed)
	inv := collectortest.Collect(t, newCollector(t, srv, lastAccessed(awscol.LastAccessedPrivileged)))
	calls := srv.AccountCalls(awsfake.DemoManagement)
	if calls["iam:GenerateServiceLastAccessedDetails"] != 0 || calls["access-analyzer:ListFindingsV2"] == 0 {
		t.Errorf("management account calls: %v", calls)
	}
	if srv.AccountCalls(awsfake.DemoPayments)["iam:GenerateServiceLastAccessedDetails"] == 0 {
		t.Error("an account without an analyzer must use Access Advisor")
	}
	legacy := byName(t, inv, awsfake.DemoManagement, "security-scanner-legacy")
	u := grantByID(t, legacy, "managed-policy:arn:aws:iam::aws:policy/IAMFullAccess").Use
	if u == nil || u.Source != nhi.SourceAccessAnalyzer || u.State != nhi.UsageNeverUsed || len(u.Services) != 2 || u.WindowEnd.Sub(u.WindowStart) != 90*24*time.Hour {
		t.Errorf("IAMFullAccess use = %+v", u)
	}
	// AdministratorAccess allows every service: Access Analyzer names only
	// the unused ones, so its use cannot be split and stays unknown.
	tf := byName(t, inv, awsfake.DemoManagement, "platform-terraform")
	if u := grantByID(t, tf, "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess").Use; u == nil || u.State != nhi.UsageUnknown {
		t.Errorf("AdministratorAccess use = %+v", u)
	}
	cov := inv.Coverage()
	if !cov.Observed(nhi.AWS, awsfake.DemoManagement, nhi.EntitlementUsageFacet(nhi.SourceAccessAnalyzer)) ||
		cov.Observed(nhi.AWS, awsfake.DemoManagement, nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)) {
		t.Error("the management account must list access-analyzer as its entitlement usage source")
	}

	denied := startFake(t, seed)
	denied.Deny(awsfake.DemoManagement, "access-analyzer:ListFindingsV2")
	inv = collectortest.Collect(t, newCollector(t, denied, lastAccessed(awscol.LastAccessedPrivileged)))
	if inv.Coverage().Observed(nhi.AWS, awsfake.DemoManagement, nhi.EntitlementUsageFacet(nhi.SourceAccessAnalyzer)) {
		t.Error("a refused findings list must hide the account's entitlement usage")
	}
}

// End to end: the analyzer flags the unused grant when the job completed,
// and makes no finding at all when the job never finished in time (the
// grants' use is unknown and a gap says why). Grants are dated a year back
// as a scan history would (nhi.StampFirstSeen).
func TestUnusedFindingOnlyFromCompletedJobs(t *testing.T) {
	unused := func(rounds int) (int, int) {
		srv := startFake(t, awsfake.Demo(now))
		srv.SetJobRounds(rounds)
		inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) {
			lastAccessed(awscol.LastAccessedPrivileged)(c)
			c.LastAccessedTimeout = 50 * time.Millisecond
		}))
		prev := inv.Clone()
		prev.CollectedAt = now.AddDate(-1, 0, 0)
		nhi.StampFirstSeen(&prev, nil)
		nhi.StampFirstSeen(&inv, &prev)
		n := 0
		for _, f := range analyzer.Analyze(analyzer.Input{Inventory: inv, Now: now}).Findings {
			if f.RuleID == rules.RuleUnusedEntitlement {
				n++
			}
		}
		return n, len(inv.Gaps)
	}
	if n, _ := unused(1); n == 0 {
		t.Error("no unused-entitlement finding from completed jobs (IAMFullAccess of security-scanner-legacy is unused)")
	}
	if n, gaps := unused(-1); n != 0 || gaps == 0 {
		t.Errorf("jobs that never finished: %d findings, %d gaps; want none and gaps", n, gaps)
	}
}

// An organisation's unused access analyzer, in the management account,
// covers the member accounts that have none of their own: their findings
// are read there, with the base credentials.
func TestOrganizationAnalyzer(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		if seed.Accounts[i].ID == awsfake.DemoManagement {
			seed.Accounts[i].UnusedAnalyzer = &awsfake.Analyzer{Name: "org-unused", Organization: true, UnusedAccessAge: 90}
		}
	}
	srv := startFake(t, seed)
	inv := collectortest.Collect(t, newCollector(t, srv, lastAccessed(awscol.LastAccessedPrivileged)))
	if n := srv.CallCount("iam:GenerateServiceLastAccessedDetails"); n != 0 {
		t.Errorf("%d Access Advisor jobs with an organisation analyzer", n)
	}
	deploy := byName(t, inv, awsfake.DemoPayments, "payments-github-deploy")
	if u := grantByID(t, deploy, "managed-policy:arn:aws:iam::aws:policy/PowerUserAccess").Use; u == nil || u.Source != nhi.SourceAccessAnalyzer {
		t.Errorf("member account grant use = %+v", u)
	}
	if !inv.Coverage().Observed(nhi.AWS, awsfake.DemoPayments, nhi.EntitlementUsageFacet(nhi.SourceAccessAnalyzer)) {
		t.Error("the member account must list access-analyzer as its source")
	}
}
