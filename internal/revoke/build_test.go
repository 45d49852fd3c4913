package revoke_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const (
	acct     = "111111111111"
	gapAcct  = "222222222222"
	staleAcc = "333333333333"
	day      = duration.Day
)

func ago(d time.Duration) time.Time { return now.Add(-d) }

func used(at time.Time, asOf time.Time) nhi.Usage {
	return nhi.Usage{State: nhi.UsageUsed, LastUsed: at, Source: "credential-report", AsOf: asOf}
}

func key(id string, created time.Time, u nhi.Usage) nhi.Credential {
	return nhi.Credential{ID: id, Type: nhi.CredAWSAccessKey, Created: created, Status: nhi.StatusActive, Usage: u}
}

func user(scope, native, name string, created time.Time, keys ...nhi.Credential) nhi.Identity {
	return nhi.Identity{ID: "aws:" + native, Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: native, Name: name, Scope: scope,
		Created: created, Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNotReported}, Credentials: keys}
}

// org is the test organisation: one complete account, one whose access
// key list failed, one whose usage data is stale.
func org() *nhi.Inventory {
	fresh := ago(day)
	twin := ago(500 * day)
	inv := &nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: ago(time.Hour),
		Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: acct}, {Provider: nhi.AWS, ID: gapAcct}, {Provider: nhi.AWS, ID: staleAcc}},
		Identities: []nhi.Identity{
			// B3: two keys created in the same second, one used yesterday,
			// one unused for 400 days.
			user(acct, "AIDACI", "ci-deployer", ago(600*day),
				key("AKIACIUSED", twin, used(ago(day), fresh)), key("AKIACISTALE", twin, used(ago(400*day), fresh))),
			user(acct, "AIDABREAK", "breakglass-admin", ago(600*day), key("AKIABREAK", ago(500*day), used(ago(300*day), fresh))),
			user(acct, "AIDAYOUNG", "new-service", ago(2*day), key("AKIAYOUNG", ago(2*day), nhi.Usage{State: nhi.UsageNeverUsed, Source: "credential-report", AsOf: fresh})),
			user(acct, "AIDAOLDNEVER", "old-never", ago(300*day), key("AKIANEVER", ago(300*day), nhi.Usage{State: nhi.UsageNeverUsed, Source: "credential-report", AsOf: fresh})),
			user(gapAcct, "AIDAGAP", "gap-user", ago(600*day), key("AKIAGAP", ago(500*day), used(ago(300*day), fresh))),
			user(staleAcc, "AIDASTALE", "stale-user", ago(600*day), key("AKIAOLDDATA", ago(500*day), used(ago(300*day), ago(10*day)))),
		},
		Gaps: []nhi.Gap{{Provider: nhi.AWS, Scope: gapAcct, Source: "iam:ListAccessKeys", Kind: nhi.GapThrottled,
			Facets: []nhi.Facet{nhi.CredentialsFacet(nhi.CredAWSAccessKey)}}},
	}
	inv.Normalize()
	return inv
}

func cat(t *testing.T) *catalog.Catalog {
	t.Helper()
	c := &catalog.Catalog{People: map[string]nhi.Person{
		"alice@acme.example": {ID: "alice@acme.example", Status: nhi.PersonActive},
		"bob@acme.example":   {ID: "bob@acme.example", Status: nhi.PersonDeparted, Departed: ago(60 * day), Manager: "alice@acme.example"},
	}, Roles: []catalog.Role{{ID: "breakglass", Protected: true}, {ID: "ci"}}}
	return c
}

func ownership() map[string]nhi.Ownership {
	return map[string]nhi.Ownership{
		"aws:AIDACI":       {IdentityID: "aws:AIDACI", RoleID: "ci", Owner: "alice@acme.example", OwnerStatus: nhi.OwnerActive},
		"aws:AIDABREAK":    {IdentityID: "aws:AIDABREAK", RoleID: "breakglass", Owner: "alice@acme.example", OwnerStatus: nhi.OwnerActive},
		"aws:AIDAYOUNG":    {IdentityID: "aws:AIDAYOUNG", Owner: "bob@acme.example", OwnerStatus: nhi.OwnerDeparted},
		"aws:AIDAOLDNEVER": {IdentityID: "aws:AIDAOLDNEVER", Owner: "alice@acme.example", OwnerStatus: nhi.OwnerActive},
		"aws:AIDAGAP":      {IdentityID: "aws:AIDAGAP", Owner: "alice@acme.example", OwnerStatus: nhi.OwnerActive},
		"aws:AIDASTALE":    {IdentityID: "aws:AIDASTALE", Owner: "alice@acme.example", OwnerStatus: nhi.OwnerActive},
	}
}

func guardrails() revoke.Guardrails {
	return revoke.Guardrails{Freshness: 7 * day, MinIdentityAge: 7 * day, NoticePeriod: 0, DeleteGrace: 30 * day}
}

func input(t *testing.T, stage revoke.Stage) revoke.Input {
	return revoke.Input{Stage: stage, ScanID: 7, Inventory: org(), Ownership: ownership(), Catalog: cat(t),
		Guardrails: guardrails(), Now: now, CreatedBy: "ops@acme.example",
		Policies: revoke.Policies{Dormant: revoke.Policy{On: true, After: 180 * day}}}
}

// row summarises one action for comparison.
type row struct {
	Cred   string
	Op     revoke.Op
	Ready  bool
	Guards []string
	Skip   bool
}

func summary(p revoke.Plan) []row {
	var out []row
	for _, a := range p.Actions {
		r := row{Cred: a.CredentialID, Op: a.Op, Ready: a.Ready(), Skip: a.Skip != ""}
		if r.Cred == "" {
			r.Cred = a.IdentityName
		}
		for _, b := range a.Blocked {
			r.Guards = append(r.Guards, b.Guard)
		}
		slices.Sort(r.Guards)
		out = append(out, r)
	}
	return out
}

// TestGuardrails builds disable plans from the dormant policy and checks
// each guardrail alone.
func TestGuardrails(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*revoke.Input)
		want []row
	}{
		{"dormant policy: only the stale key of two created in the same second; gap, stale data and protection block", nil, []row{
			{Cred: "AKIABREAK", Op: revoke.OpDisable, Guards: []string{"protected"}},
			{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true},
			{Cred: "AKIANEVER", Op: revoke.OpDisable, Ready: true},
			{Cred: "AKIAGAP", Op: revoke.OpDisable, Guards: []string{"coverage"}},
			{Cred: "AKIAOLDDATA", Op: revoke.OpDisable, Guards: []string{"freshness"}},
		}},
		{"policies off by default: nothing", func(in *revoke.Input) { in.Policies = revoke.Policies{} }, nil},
		{"a cap of one per run", func(in *revoke.Input) { in.Guardrails.MaxPerRun = 1 }, []row{
			{Cred: "AKIABREAK", Op: revoke.OpDisable, Guards: []string{"protected"}},
			{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true},
			{Cred: "AKIANEVER", Op: revoke.OpDisable, Guards: []string{"cap"}},
			{Cred: "AKIAGAP", Op: revoke.OpDisable, Guards: []string{"coverage"}},
			{Cred: "AKIAOLDDATA", Op: revoke.OpDisable, Guards: []string{"freshness"}},
		}},
		{"a cap of one per scope", func(in *revoke.Input) {
			in.Guardrails.MaxPerScope = 1
			in.Guardrails.Freshness = 30 * day
		}, []row{
			{Cred: "AKIABREAK", Op: revoke.OpDisable, Guards: []string{"protected"}},
			{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true},
			{Cred: "AKIANEVER", Op: revoke.OpDisable, Guards: []string{"cap"}},
			{Cred: "AKIAGAP", Op: revoke.OpDisable, Guards: []string{"coverage"}},
			{Cred: "AKIAOLDDATA", Op: revoke.OpDisable, Ready: true},
		}},
		{"a scan older than the freshness threshold blocks everything", func(in *revoke.Input) { in.Now = now.Add(8 * day) }, []row{
			{Cred: "AKIABREAK", Op: revoke.OpDisable, Guards: []string{"freshness", "freshness", "protected"}},
			{Cred: "AKIACISTALE", Op: revoke.OpDisable, Guards: []string{"freshness", "freshness"}},
			{Cred: "AKIANEVER", Op: revoke.OpDisable, Guards: []string{"freshness", "freshness"}},
			{Cred: "AKIAGAP", Op: revoke.OpDisable, Guards: []string{"coverage", "freshness", "freshness"}},
			{Cred: "AKIAOLDDATA", Op: revoke.OpDisable, Guards: []string{"freshness", "freshness"}},
		}},
		{"notice required before a disable", func(in *revoke.Input) {
			in.Guardrails.NoticePeriod = 7 * day
			in.Catalog.Roles[0].Protected = false
			in.History = []revoke.Applied{
				applied(1, revoke.OpNotify, "aws:AIDACI", "AKIACISTALE", ago(8*day)),
				applied(1, revoke.OpNotify, "aws:AIDAOLDNEVER", "AKIANEVER", ago(2*day)),
			}
		}, []row{
			{Cred: "AKIABREAK", Op: revoke.OpDisable, Guards: []string{"stage"}},
			{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true},
			{Cred: "AKIANEVER", Op: revoke.OpDisable, Guards: []string{"stage"}},
			{Cred: "AKIAGAP", Op: revoke.OpDisable, Guards: []string{"coverage", "stage"}},
			{Cred: "AKIAOLDDATA", Op: revoke.OpDisable, Guards: []string{"freshness", "stage"}},
		}},
		{"protected selector", func(in *revoke.Input) {
			in.Catalog.Roles[0].Protected = false
			in.Catalog.Protected = []catalog.Selector{{Provider: nhi.AWS, Name: "old-*"}}
		}, []row{
			{Cred: "AKIABREAK", Op: revoke.OpDisable, Ready: true},
			{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true},
			{Cred: "AKIANEVER", Op: revoke.OpDisable, Guards: []string{"protected"}},
			{Cred: "AKIAGAP", Op: revoke.OpDisable, Guards: []string{"coverage"}},
			{Cred: "AKIAOLDDATA", Op: revoke.OpDisable, Guards: []string{"freshness"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, revoke.StageDisable)
			if tc.edit != nil {
				tc.edit(&in)
			}
			p := revoke.Build(in)
			if diff := cmp.Diff(tc.want, summary(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s\n%s", diff, dump(p))
			}
		})
	}
}

func applied(plan int64, op revoke.Op, identity, cred string, at time.Time) revoke.Applied {
	return revoke.Applied{PlanID: plan, ActionID: 1, Op: op, Target: revoke.Target{IdentityID: identity, CredentialID: cred}, At: at, Verified: true, Changed: true}
}

func dump(p revoke.Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		b.WriteString(a.Label() + " " + string(a.Op) + " skip=" + a.Skip + "\n")
		for _, x := range a.Blocked {
			b.WriteString("  " + x.Guard + ": " + x.Why + "\n")
		}
	}
	return b.String()
}

// TestMinimumIdentityAge: a campaign's revoke of a two-day-old identity's
// key is blocked by the minimum age; the old one is not.
func TestMinimumIdentityAge(t *testing.T) {
	in := input(t, revoke.StageDisable)
	in.Policies = revoke.Policies{}
	in.Campaigns = []revoke.CampaignInput{closedCampaign(
		credItem(1, "aws:AIDAYOUNG", "new-service", "AKIAYOUNG"),
		credItem(2, "aws:AIDAOLDNEVER", "old-never", "AKIANEVER"),
	)}
	p := revoke.Build(in)
	want := []row{
		{Cred: "AKIANEVER", Op: revoke.OpDisable, Ready: true},
		{Cred: "AKIAYOUNG", Op: revoke.OpDisable, Guards: []string{"min-age"}},
	}
	if diff := cmp.Diff(want, summary(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s\n%s", diff, dump(p))
	}
	a := p.Actions[0]
	if len(a.Reasons) != 1 || a.Reasons[0].Source != revoke.SourceCampaign || !strings.Contains(a.Reasons[0].Ref, "campaign 3 item 2") {
		t.Errorf("reasons = %+v", a.Reasons)
	}
	if !hasFact(a, "decision", "revoke by carol@acme.example") || !hasFact(a, "credential status", "active") || !hasFact(a, "last use", "never used") {
		t.Errorf("facts = %+v", a.Facts)
	}
	for _, f := range a.Facts {
		if f.Name == "last use" && (f.ScanID != 7 || f.Source != "usage:credential-report" || f.AsOf.IsZero()) {
			t.Errorf("last use fact lacks its scan, source or as-of: %+v", f)
		}
	}
}

func hasFact(a revoke.Action, name, value string) bool {
	for _, f := range a.Facts {
		if f.Name == name && strings.Contains(f.Value, value) {
			return true
		}
	}
	return false
}

func closedCampaign(items ...campaign.Item) revoke.CampaignInput {
	c := revoke.CampaignInput{Campaign: campaign.Campaign{ID: 3, Name: "Q4", ScanID: 6, State: campaign.StateClosed}}
	for _, it := range items {
		c.Items = append(c.Items, it)
		c.Decisions = append(c.Decisions, campaign.Decision{ID: int64(it.ID), CampaignID: 3, ItemID: it.ID, Reviewer: "carol@acme.example",
			Kind: campaign.Revoke, Justification: "not needed", At: ago(3 * day)})
	}
	return c
}

func credItem(n int, identity, name, cred string) campaign.Item {
	return campaign.Item{ID: n, ParentID: 100, Kind: campaign.KindCredential, Provider: nhi.AWS, Scope: acct, IdentityID: identity,
		IdentityName: name, IdentityKind: nhi.KindAWSUser, CredentialID: cred, CredentialType: nhi.CredAWSAccessKey}
}

// TestCampaignSources: revoke decisions of closed campaigns, defaults,
// reduce (a managed policy detached, issue 18), an open campaign's decision, a later
// certification, and a target gone since.
func TestCampaignSources(t *testing.T) {
	in := input(t, revoke.StageDisable)
	in.Policies = revoke.Policies{}
	closed := closedCampaign(credItem(1, "aws:AIDACI", "ci-deployer", "AKIACISTALE"), credItem(2, "aws:AIDAOLDNEVER", "old-never", "AKIAGONE"))
	closed.Items = append(closed.Items,
		campaign.Item{ID: 10, Kind: campaign.KindIdentity, Provider: nhi.AWS, Scope: acct, IdentityID: "aws:AIDAOLDNEVER", IdentityName: "old-never", IdentityKind: nhi.KindAWSUser},
		campaign.Item{ID: 11, ParentID: 10, Kind: campaign.KindGrant, Provider: nhi.AWS, Scope: acct, IdentityID: "aws:AIDAOLDNEVER", GrantID: "managed-policy:admin", Entitlement: "AdministratorAccess"})
	closed.Decisions = append(closed.Decisions,
		campaign.Decision{ID: 10, ItemID: 10, Reviewer: campaign.Actor, Kind: campaign.Unanswered, Default: campaign.DefaultDisable, At: ago(2 * day)},
		campaign.Decision{ID: 11, ItemID: 11, Reviewer: "carol@acme.example", Kind: campaign.Reduce, At: ago(2 * day)})
	open := closedCampaign(credItem(1, "aws:AIDABREAK", "breakglass-admin", "AKIABREAK"))
	open.Campaign.ID, open.Campaign.State = 4, campaign.StateOpen
	later := closedCampaign(credItem(1, "aws:AIDACI", "ci-deployer", "AKIACIUSED"))
	later.Campaign.ID = 5
	later.Decisions[0].Kind, later.Decisions[0].At = campaign.Certify, ago(day)
	earlier := closedCampaign(credItem(1, "aws:AIDACI", "ci-deployer", "AKIACIUSED"))
	earlier.Campaign.ID = 2
	in.Campaigns = []revoke.CampaignInput{later, closed, open, earlier}
	in.Catalog.Roles[0].Protected = false
	for i := range in.Inventory.Identities {
		if id := &in.Inventory.Identities[i]; id.Name == "old-never" {
			id.Grants = []nhi.Grant{{ID: "managed-policy:admin", Kind: "managed-policy", Entitlement: "AdministratorAccess", Scope: acct}}
		}
	}
	p := revoke.Build(in)
	want := []row{
		{Cred: "AKIABREAK", Op: revoke.OpDisable, Guards: []string{"campaign"}},
		{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true},
		{Cred: "old-never", Op: revoke.OpDisable, Ready: true},
		{Cred: "old-never", Op: revoke.OpReduce, Ready: true},
		{Cred: "AKIAGONE", Skip: true},
	}
	if diff := cmp.Diff(want, summary(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s\n%s", diff, dump(p))
	}
	if a, _ := p.Action(3); a.Want != revoke.WantDisable || a.Reasons[0].Source != revoke.SourceDefault || a.Operation == "" || a.Undo == "" {
		t.Errorf("the unanswered default: %+v", a)
	}
	if len(p.Sources) != 4 || !strings.Contains(p.Sources[1], `campaign 3 "Q4" (closed): 2 revoke, 1 disable, 1 reduce`) {
		t.Errorf("sources = %q", p.Sources)
	}
}

// TestStages: notify, then disable after the notice period, then delete
// after the grace period; each stage its own plan.
func TestStages(t *testing.T) {
	base := func(stage revoke.Stage) revoke.Input {
		in := input(t, stage)
		in.Guardrails.NoticePeriod = 7 * day
		in.Inventory.Identities = slices.DeleteFunc(in.Inventory.Identities, func(id nhi.Identity) bool { return id.Name != "ci-deployer" })
		return in
	}
	notify := revoke.Build(base(revoke.StageNotify))
	if diff := cmp.Diff([]row{{Cred: "AKIACISTALE", Op: revoke.OpNotify, Ready: true}}, summary(notify)); diff != "" {
		t.Fatalf("notify plan (-want +got):\n%s\n%s", diff, dump(notify))
	}
	if a := notify.Actions[0]; a.Owner != "alice@acme.example" || a.Operation != "notice to alice@acme.example" {
		t.Errorf("notice: owner %q, operation %q", a.Owner, a.Operation)
	}
	for _, tc := range []struct {
		name    string
		stage   revoke.Stage
		history []revoke.Applied
		status  nhi.Status
		want    row
		why     string
	}{
		{"notify again: skipped", revoke.StageNotify, []revoke.Applied{applied(1, revoke.OpNotify, "aws:AIDACI", "AKIACISTALE", ago(day))}, "",
			row{Cred: "AKIACISTALE", Op: revoke.OpNotify, Skip: true}, "owner notified"},
		{"disable without a notice", revoke.StageDisable, nil, "",
			row{Cred: "AKIACISTALE", Op: revoke.OpDisable, Guards: []string{"stage"}}, "not notified"},
		{"disable inside the notice period", revoke.StageDisable, []revoke.Applied{applied(1, revoke.OpNotify, "aws:AIDACI", "AKIACISTALE", ago(day))}, "",
			row{Cred: "AKIACISTALE", Op: revoke.OpDisable, Guards: []string{"stage"}}, "disable from 2026-12-02"},
		{"disable after the notice period", revoke.StageDisable, []revoke.Applied{applied(1, revoke.OpNotify, "aws:AIDACI", "AKIACISTALE", ago(8*day))}, "",
			row{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true}, ""},
		{"disable what is disabled: skipped", revoke.StageDisable, nil, nhi.StatusDisabled,
			row{Cred: "AKIACISTALE", Op: revoke.OpDisable, Skip: true}, "already disabled"},
		{"delete before any disable", revoke.StageDelete, nil, "",
			row{Cred: "AKIACISTALE", Op: revoke.OpDelete, Guards: []string{"stage"}}, "not disabled by nhiscan"},
		{"delete inside the grace period", revoke.StageDelete, []revoke.Applied{applied(2, revoke.OpDisable, "aws:AIDACI", "AKIACISTALE", ago(10*day))}, nhi.StatusDisabled,
			row{Cred: "AKIACISTALE", Op: revoke.OpDelete, Guards: []string{"stage"}}, "grace 30d"},
		{"delete after a rolled-back disable", revoke.StageDelete, []revoke.Applied{rolledBack(applied(2, revoke.OpDisable, "aws:AIDACI", "AKIACISTALE", ago(40*day)))}, nhi.StatusDisabled,
			row{Cred: "AKIACISTALE", Op: revoke.OpDelete, Guards: []string{"stage"}}, "not disabled by nhiscan"},
		{"delete of a key enabled again", revoke.StageDelete, []revoke.Applied{applied(2, revoke.OpDisable, "aws:AIDACI", "AKIACISTALE", ago(40*day))}, nhi.StatusActive,
			row{Cred: "AKIACISTALE", Op: revoke.OpDelete, Guards: []string{"stage"}}, "enabled again"},
		{"delete after the grace period", revoke.StageDelete, []revoke.Applied{applied(2, revoke.OpDisable, "aws:AIDACI", "AKIACISTALE", ago(40*day))}, nhi.StatusDisabled,
			row{Cred: "AKIACISTALE", Op: revoke.OpDelete, Ready: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base(tc.stage)
			in.History = tc.history
			if tc.status != "" {
				// The key as disabled: the dormant policy passes over
				// disabled keys, so a campaign asks for it.
				in.Policies = revoke.Policies{}
				in.Campaigns = []revoke.CampaignInput{closedCampaign(credItem(1, "aws:AIDACI", "ci-deployer", "AKIACISTALE"))}
				c, _ := in.Inventory.Identities[0].Credential("AKIACISTALE")
				c.Status = tc.status
			}
			p := revoke.Build(in)
			if diff := cmp.Diff([]row{tc.want}, summary(p)); diff != "" {
				t.Fatalf("plan (-want +got):\n%s\n%s", diff, dump(p))
			}
			if got := dump(p); tc.why != "" && !strings.Contains(got, tc.why) {
				t.Errorf("plan does not say %q:\n%s", tc.why, got)
			}
		})
	}
}

func rolledBack(a revoke.Applied) revoke.Applied {
	a.RolledBack = true
	return a
}

// TestLiveReads (B3): two keys created in the same second whose use the
// credential report cannot tell apart are unknown in the scan; re-read one
// by one, only the stale one is planned. A gap on the usage source still
// blocks it.
func TestLiveReads(t *testing.T) {
	in := input(t, revoke.StageDisable)
	in.Inventory.Identities = slices.DeleteFunc(in.Inventory.Identities, func(id nhi.Identity) bool { return id.Name != "ci-deployer" })
	id := &in.Inventory.Identities[0]
	unknown := nhi.Usage{State: nhi.UsageUnknown, Source: "credential-report", AsOf: ago(day), Reason: "both keys were created in the same second"}
	for i := range id.Credentials {
		id.Credentials[i].Usage = unknown
	}
	if p := revoke.Build(in); len(p.Actions) != 0 {
		t.Fatalf("unknown usage planned:\n%s", dump(p))
	}
	live := func(k string, last time.Time) (string, revoke.State) {
		return "aws:AIDACI|" + k + "|", revoke.State{Exists: true, ID: k, Status: nhi.StatusActive,
			Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: "iam:GetAccessKeyLastUsed", AsOf: now}}
	}
	in.Live = map[string]revoke.State{}
	for k, last := range map[string]time.Time{"AKIACIUSED": ago(day), "AKIACISTALE": ago(400 * day)} {
		key, st := live(k, last)
		in.Live[key] = st
	}
	p := revoke.Build(in)
	if diff := cmp.Diff([]row{{Cred: "AKIACISTALE", Op: revoke.OpDisable, Ready: true}}, summary(p)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s\n%s", diff, dump(p))
	}
	if a := p.Actions[0]; a.Expect.Usage.Source != "iam:GetAccessKeyLastUsed" || !hasFact(a, "last use", "used 2025-10-22") {
		t.Errorf("the re-read is not the fact: %+v %+v", a.Expect, a.Facts)
	}
	in.Inventory.Gaps = append(in.Inventory.Gaps, nhi.Gap{Provider: nhi.AWS, Scope: acct, Source: "iam:GetCredentialReport", Kind: nhi.GapDenied,
		Facets: []nhi.Facet{nhi.UsageFacet("credential-report")}})
	p = revoke.Build(in)
	if diff := cmp.Diff([]row{{Cred: "AKIACISTALE", Op: revoke.OpDisable, Guards: []string{"coverage"}}}, summary(p)); diff != "" {
		t.Errorf("with a gap on the usage source (-want +got):\n%s\n%s", diff, dump(p))
	}
}

// TestPlanJSON: a plan's durations read as the configuration writes them,
// and round-trip.
func TestPlanJSON(t *testing.T) {
	in := revoke.Plan{Guardrails: revoke.Guardrails{Freshness: 36 * time.Hour, MinIdentityAge: 0, MaxPerRun: 3, NoticePeriod: 7 * day, DeleteGrace: 30 * day},
		Policies: revoke.Policies{Dormant: revoke.Policy{On: true, After: 180 * day}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"freshness":"36h"`, `"notice_period":"7d"`, `"delete_grace":"30d"`, `"dormant":{"on":true,"after":"180d"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("plan JSON lacks %s: %s", want, b)
		}
	}
	var out revoke.Plan
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestNoticeAnnounces: a notice says what follows it: a reversible disable
// after the notice period, or an irreversible removal after the grace.
func TestNoticeAnnounces(t *testing.T) {
	in := input(t, revoke.StageNotify)
	in.Guardrails.NoticePeriod = 7 * day
	p := revoke.Build(in)
	a, _ := p.Action(2) // AKIACISTALE
	if a.CredentialID != "AKIACISTALE" || !strings.Contains(a.Then, "disabled (reversible: iam:UpdateAccessKey Status=Active) 7d after this notice") {
		t.Errorf("%s announces %q", a.CredentialID, a.Then)
	}
	in.Inventory.Identities[0].Credentials[0].Type = nhi.CredEntraClientSecret
	in.Inventory.Identities[0].Provider, in.Inventory.Identities[0].Kind = nhi.Azure, nhi.KindEntraApplication
	in.Inventory.Scopes = append(in.Inventory.Scopes, nhi.Scope{Provider: nhi.Azure, ID: acct})
	p = revoke.Build(in)
	found := false
	for _, x := range p.Actions {
		if x.CredentialID == "AKIABREAK" {
			found = true
			if !strings.Contains(x.Then, "removed, irreversibly, 30d after this notice: POST removePassword") {
				t.Errorf("a client secret announces %q", x.Then)
			}
		}
	}
	if !found {
		t.Errorf("no action on the client secret:\n%s", dump(p))
	}
}

// A reduce is announced at the notify stage, applied at the disable stage
// (with its undo), has nothing to do at the delete stage, and is blocked
// with the reason for a group's policy.
func TestReduceStages(t *testing.T) {
	build := func(stage revoke.Stage, grantID, kind string) revoke.Action {
		in := input(t, stage)
		in.Policies = revoke.Policies{}
		closed := closedCampaign(campaign.Item{ID: 1, Kind: campaign.KindGrant, Provider: nhi.AWS, Scope: acct, IdentityID: "aws:AIDAOLDNEVER", GrantID: grantID})
		closed.Decisions = []campaign.Decision{{ID: 1, ItemID: 1, Reviewer: "carol@acme.example", Kind: campaign.Reduce, At: ago(2 * day)}}
		in.Campaigns = []revoke.CampaignInput{closed}
		in.Catalog.Roles[0].Protected = false
		for i := range in.Inventory.Identities {
			if id := &in.Inventory.Identities[i]; id.Name == "old-never" {
				id.Grants = []nhi.Grant{{ID: grantID, Kind: kind, Entitlement: "AmazonS3FullAccess", Scope: acct}}
			}
		}
		p := revoke.Build(in)
		for _, a := range p.Actions {
			if a.GrantID == grantID {
				return a
			}
		}
		t.Fatalf("no reduce action in %s", dump(p))
		return revoke.Action{}
	}
	const managed = "managed-policy:s3"
	if a := build(revoke.StageNotify, managed, "managed-policy"); a.Op != revoke.OpNotify || !strings.Contains(a.Then, "iam:AttachRolePolicy") {
		t.Errorf("notify: %+v", a)
	}
	if a := build(revoke.StageDisable, managed, "managed-policy"); a.Op != revoke.OpReduce || !a.Ready() || a.Undo == "" || a.Expect.ID != managed {
		t.Errorf("disable: %+v", a)
	}
	if a := build(revoke.StageDelete, managed, "managed-policy"); a.Skip == "" {
		t.Errorf("delete: %+v", a)
	}
	if a := build(revoke.StageDisable, "group-policy:ops:s3", "group-policy"); a.Ready() || len(a.Blocked) == 0 || !strings.Contains(a.Blocked[0].Why, "group") {
		t.Errorf("group policy: %+v", a)
	}
}

// A reduce rests on the grant's use: one identity's gap on that use (its
// Access Advisor job did not finish) blocks the reduce of its grant, and
// only of its grants.
func TestReduceBlockedByTheIdentitysUsageGap(t *testing.T) {
	const grantID = "managed-policy:s3"
	build := func(gap bool) revoke.Action {
		in := input(t, revoke.StageDisable)
		in.Policies = revoke.Policies{}
		closed := closedCampaign(campaign.Item{ID: 1, Kind: campaign.KindGrant, Provider: nhi.AWS, Scope: acct, IdentityID: "aws:AIDAOLDNEVER", GrantID: grantID})
		closed.Decisions = []campaign.Decision{{ID: 1, ItemID: 1, Reviewer: "carol@acme.example", Kind: campaign.Reduce, At: ago(2 * day)}}
		in.Campaigns = []revoke.CampaignInput{closed}
		in.Catalog.Roles[0].Protected = false
		for i := range in.Inventory.Identities {
			if id := &in.Inventory.Identities[i]; id.Name == "old-never" {
				id.Grants = []nhi.Grant{{ID: grantID, Kind: "managed-policy", Entitlement: "AmazonS3FullAccess", Scope: acct,
					Use: &nhi.GrantUse{State: nhi.UsageNeverUsed, Source: nhi.SourceAccessAdvisor, WindowStart: ago(400 * day), WindowEnd: ago(day)}}}
			}
		}
		if gap {
			in.Inventory.Gaps = append(in.Inventory.Gaps, nhi.Gap{Provider: nhi.AWS, Scope: acct, Identity: "aws:AIDAOLDNEVER",
				Source: "iam:GetServiceLastAccessedDetails", Kind: nhi.GapTimeout, Facets: []nhi.Facet{nhi.EntitlementUsageFacet(nhi.SourceAccessAdvisor)}})
		}
		for _, a := range revoke.Build(in).Actions {
			if a.GrantID == grantID {
				return a
			}
		}
		t.Fatal("no reduce action")
		return revoke.Action{}
	}
	if a := build(false); !a.Ready() {
		t.Fatalf("without a gap: %+v", a.Blocked)
	}
	a := build(true)
	if a.Ready() || a.Blocked[0].Guard != revoke.GuardCoverage || !strings.Contains(a.Blocked[0].Why, "for this identity") {
		t.Errorf("with the identity's usage gap: %+v", a.Blocked)
	}
}
