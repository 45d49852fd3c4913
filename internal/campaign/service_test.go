package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// clock is the injected time the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// outbox is a Notifier that keeps what it is given; it fails for the
// addresses in fail.
type outbox struct {
	got  []*campaign.Notice
	fail map[string]bool
}

func (o *outbox) Notify(_ context.Context, n *campaign.Notice) (campaign.Receipt, error) {
	if o.fail[n.To.Address] {
		return campaign.Receipt{Transport: "test"}, errors.New("451 4.3.0 mailbox busy\r\nnext line")
	}
	o.got = append(o.got, n)
	return campaign.Receipt{Transport: "test", MessageID: n.MessageID}, nil
}

// take returns "kind to: items" lines for what was sent since the last take.
func (o *outbox) take() []string {
	var out []string
	for _, n := range o.got {
		var new []string
		for _, it := range n.Items {
			if n.New[it.ID] {
				new = append(new, fmt.Sprint(it.ID))
			}
		}
		out = append(out, fmt.Sprintf("%s %s: %d items, new [%s]", n.Kind, n.To.Address, len(n.Items), strings.Join(new, " ")))
	}
	o.got = nil
	return out
}

type env struct {
	st    *store.Store
	svc   *campaign.Service
	clock *clock
	box   *outbox
	scan  int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: t0}
	st, err := store.OpenConfig(ctx, store.Config{Path: filepath.Join(t.TempDir(), "nhiscan.db"), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	scan, err := st.BeginScan(ctx, store.ScanMeta{Started: t0, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishScan(ctx, scan, store.FinishInput{Ended: t0, Inventory: testInventory(), Findings: testFindings(),
		Ownership: testOwnership(), EvaluatedAt: t0, Lifecycle: analyzer.Lifecycle}); err != nil {
		t.Fatal(err)
	}
	box := &outbox{}
	svc := &campaign.Service{Store: st, Notifier: box, Signer: signer(t), ReviewURL: "https://nhiscan.example/review",
		Catalog: testCatalog(), Now: c.now}
	return &env{st: st, svc: svc, clock: c, box: box, scan: scan}
}

func testPolicy() campaign.Policy {
	return campaign.Policy{Reminders: []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}, EscalateAfter: 24 * time.Hour,
		Unanswered: campaign.DefaultNone, LeaverDeadline: 7 * 24 * time.Hour, LeaverUnanswered: campaign.DefaultDisable,
		Fallback: "grace@acme.example", LinkTTL: 21 * 24 * time.Hour}
}

func (e *env) create(t *testing.T, f campaign.Filter) campaign.Campaign {
	t.Helper()
	c, _, err := e.svc.Create(context.Background(), campaign.CreateInput{Name: "Q4", ScanID: e.scan, Filter: f,
		Policy: testPolicy(), Deadline: deadline, CreatedBy: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) send(t *testing.T, id int64) campaign.SendResult {
	t.Helper()
	res, err := e.svc.Send(context.Background(), id, campaign.SendOptions{Actor: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) remind(t *testing.T, id int64) campaign.SendResult {
	t.Helper()
	res, err := e.svc.Remind(context.Background(), id, campaign.SendOptions{Actor: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) decide(t *testing.T, id int64, ds ...campaign.Decision) {
	t.Helper()
	if err := e.svc.Decide(context.Background(), id, ds); err != nil {
		t.Fatal(err)
	}
}

func TestCreateErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, _, err := e.svc.Create(ctx, campaign.CreateInput{ScanID: e.scan, Filter: campaign.Filter{Roles: []string{"nope"}}, Deadline: deadline, Policy: testPolicy()})
	if !errors.Is(err, campaign.ErrEmpty) {
		t.Errorf("empty filter: %v", err)
	}
	// Without a fallback, an identity whose owner left and had no manager
	// has no reviewer: nothing is written and the error names it.
	e.svc.Catalog.People["dan@acme.example"] = nhi.Person{ID: "dan@acme.example", Status: nhi.PersonDeparted}
	p := testPolicy()
	p.Fallback = ""
	_, _, err = e.svc.Create(ctx, campaign.CreateInput{ScanID: e.scan, Deadline: deadline, Policy: p})
	if !errors.Is(err, campaign.ErrUnrouted) || !strings.Contains(err.Error(), "dan-scripts (aws:AIDAOLD)") {
		t.Errorf("unrouted: %v", err)
	}
	if _, _, err := e.svc.Create(ctx, campaign.CreateInput{ScanID: e.scan, Deadline: t0, Policy: testPolicy()}); err == nil {
		t.Error("a deadline in the past was accepted")
	}
	if list, _ := e.st.Campaigns(ctx); len(list) != 0 {
		t.Errorf("failed creates wrote %d campaigns", len(list))
	}
}

// The whole lifecycle with an injected clock: draft, open with invites,
// decisions, reminders at their offsets, escalation after the deadline,
// close with defaults, certification and KPIs.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	if c.State != campaign.StateDraft {
		t.Fatalf("state = %s", c.State)
	}

	// A dry run opens nothing and logs nothing.
	dry := &outbox{}
	if _, err := e.svc.Send(ctx, c.ID, campaign.SendOptions{DryRun: true, Notifier: dry}); err != nil {
		t.Fatal(err)
	}
	if len(dry.got) != 3 || len(e.box.got) != 0 {
		t.Errorf("dry run: %d notices to the dry notifier, %d to the real one", len(dry.got), len(e.box.got))
	}
	if got, _ := e.st.Campaign(ctx, c.ID); got.State != campaign.StateDraft {
		t.Errorf("a dry run opened the campaign")
	}

	// Day 0: send opens the campaign and invites each reviewer once.
	e.clock.t = t0.Add(time.Hour)
	e.send(t, c.ID)
	want := []string{
		"invite bob@acme.example: 2 items, new [7]",
		"invite carol@acme.example: 6 items, new [1 5]",
		"invite liam@acme.example: 4 items, new [9 11]",
	}
	if diff := cmp.Diff(want, e.box.take()); diff != "" {
		t.Errorf("invites (-want +got):\n%s", diff)
	}
	e.send(t, c.ID)
	if got := e.box.take(); len(got) != 0 {
		t.Errorf("a rerun sent %v", got)
	}

	// Carol certifies her deployer, revokes its old key; bob reassigns
	// payments-runtime to carol.
	e.decide(t, c.ID,
		campaign.Decision{ItemID: 1, Reviewer: "carol@acme.example", Kind: campaign.Certify, Justification: "deploys prod", Source: "test"},
		campaign.Decision{ItemID: 3, Reviewer: "carol@acme.example", Kind: campaign.Revoke, Justification: "dormant", Source: "test"},
		campaign.Decision{ItemID: 7, Reviewer: "bob@acme.example", Kind: campaign.Reassign, ReassignTo: "carol@acme.example", Source: "test"},
	)
	// Carol is told about her new item at the next run (send or remind).
	e.clock.t = t0.Add(2 * time.Hour)
	e.remind(t, c.ID)
	if diff := cmp.Diff([]string{"invite carol@acme.example: 4 items, new [7]"}, e.box.take()); diff != "" {
		t.Errorf("after reassign (-want +got):\n%s", diff)
	}

	// The leaver's item is due first (day 7), so day 0 is already inside
	// its 7-day window: the invite covers that. Day 6: its 1-day reminder.
	e.clock.t = t0.AddDate(0, 0, 6).Add(time.Hour)
	e.remind(t, c.ID)
	got := e.box.take()
	if diff := cmp.Diff([]string{"reminder carol@acme.example: 4 items, new []"}, got); diff != "" {
		t.Errorf("day 6 reminders (-want +got):\n%s", diff)
	}
	// Day 7: the main deadline is 7 days away: everyone with open items is
	// reminded; the leaver item passed its deadline but its grace has not.
	e.clock.t = t0.AddDate(0, 0, 7).Add(time.Hour)
	res := e.remind(t, c.ID)
	if len(res.Escalated) != 0 {
		t.Errorf("day 7 escalated %v", res.Escalated)
	}
	want = []string{"reminder carol@acme.example: 4 items, new []", "reminder liam@acme.example: 4 items, new []"}
	if diff := cmp.Diff(want, e.box.take()); diff != "" {
		t.Errorf("day 7 reminders (-want +got):\n%s", diff)
	}
	e.remind(t, c.ID)
	if got := e.box.take(); len(got) != 0 {
		t.Errorf("a rerun of remind sent %v", got)
	}

	// Day 8: the leaver item is a day past its deadline: carol's manager
	// grace gets it, with an escalation notice.
	e.clock.t = t0.AddDate(0, 0, 8).Add(time.Hour)
	res = e.remind(t, c.ID)
	if len(res.Escalated) != 1 || res.Escalated[0].ItemID != 5 || res.Escalated[0].Reviewer != "grace@acme.example" {
		t.Errorf("day 8 escalations = %+v", res.Escalated)
	}
	if diff := cmp.Diff([]string{"escalation grace@acme.example: 2 items, new [5]"}, e.box.take()); diff != "" {
		t.Errorf("day 8 notices (-want +got):\n%s", diff)
	}

	// Liam certifies the deploy key; carol reduces payments-runtime.
	e.decide(t, c.ID,
		campaign.Decision{ItemID: 9, Reviewer: "liam@acme.example", Kind: campaign.Certify, Source: "test"},
		campaign.Decision{ItemID: 7, Reviewer: "carol@acme.example", Kind: campaign.Reduce,
			Grants: []string{"managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess"}, Source: "test"},
	)

	// Day 15: past the main deadline plus grace: the token goes to grace.
	e.clock.t = deadline.Add(25 * time.Hour)
	res = e.remind(t, c.ID)
	if len(res.Escalated) != 1 || res.Escalated[0].ItemID != 11 {
		t.Errorf("day 15 escalations = %+v", res.Escalated)
	}
	if diff := cmp.Diff([]string{"escalation grace@acme.example: 4 items, new [11]"}, e.box.take()); diff != "" {
		t.Errorf("day 15 notices (-want +got):\n%s", diff)
	}

	// Close: the leaver identity and the token are unanswered; the
	// leaver's takes its default (disable).
	kpis, err := e.svc.Close(ctx, c.ID, "operator")
	if err != nil {
		t.Fatal(err)
	}
	wantKPIs := campaign.KPIs{Items: 12, Identities: 5, Reviewers: 3, Certified: 5, Revoked: 1, Reduced: 2, Reassigned: 2,
		Unanswered: 4, Overdue: 4, Conflicts: 4, Escalated: 4, Leavers: 1, Defaulted: 1}
	if diff := cmp.Diff(wantKPIs, kpis); diff != "" {
		t.Errorf("KPIs (-want +got):\n%s", diff)
	}
	closed, err := e.st.Campaign(ctx, c.ID)
	if err != nil || closed.State != campaign.StateClosed || closed.Summary == nil || *closed.Summary != kpis {
		t.Errorf("closed = %+v, %v", closed, err)
	}
	cert, err := e.st.LatestCertification(ctx)
	if err != nil || cert == nil {
		t.Fatal(err)
	}
	wantCert := map[string][]string{"aws:AIDADEPLOY": {"managed-policy:arn:aws:iam::aws:policy/AdministratorAccess"},
		"aws:AROAPAY": nil, "github:deploy-key:9": nil} // stored: certified with no grants
	if diff := cmp.Diff(wantCert, cert.Grants); diff != "" {
		t.Errorf("certified grants (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"aws:AIDADEPLOY": {"AKIANEW"}, "github:deploy-key:9": {"9"}}, cert.Credentials); diff != "" {
		t.Errorf("certified credentials (-want +got):\n%s", diff)
	}
	// A closed campaign takes nothing more.
	if err := e.svc.Decide(ctx, c.ID, []campaign.Decision{{ItemID: 11, Reviewer: "grace@acme.example", Kind: campaign.Certify}}); err == nil {
		t.Error("a decision on a closed campaign was accepted")
	}
	if _, err := e.svc.Send(ctx, c.ID, campaign.SendOptions{}); err == nil {
		t.Error("send on a closed campaign was accepted")
	}
	if _, err := e.st.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

func TestSendRecordsFailuresAndRetries(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	e.box.fail = map[string]bool{"liam@acme.example": true}
	res := e.send(t, c.ID)
	if res.Failed() != 1 || len(e.box.take()) != 2 {
		t.Fatalf("failed = %d", res.Failed())
	}
	ds, err := e.st.CampaignDeliveries(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var failed []campaign.Delivery
	for _, d := range ds {
		if d.Status == campaign.DeliveryFailed {
			failed = append(failed, d)
		}
	}
	if len(failed) != 2 || strings.ContainsAny(failed[0].Error, "\r\n") || !strings.Contains(failed[0].Error, "mailbox busy") {
		t.Errorf("failed deliveries = %+v", failed)
	}
	e.box.fail = nil
	e.send(t, c.ID)
	if diff := cmp.Diff([]string{"invite liam@acme.example: 4 items, new [9 11]"}, e.box.take()); diff != "" {
		t.Errorf("retry (-want +got):\n%s", diff)
	}
	e.send(t, c.ID)
	if got := e.box.take(); len(got) != 0 {
		t.Errorf("after the retry a rerun sent %v", got)
	}
}

func TestNoticeCarriesAVerifiableLink(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	e.send(t, c.ID)
	n := e.box.got[0]
	tok, ok := strings.CutPrefix(n.Link, "https://nhiscan.example/review?t=")
	if !ok {
		t.Fatalf("link = %q", n.Link)
	}
	claims, err := signer(t).Verify(tok, e.clock.t)
	if err != nil || claims.CampaignID != c.ID || claims.Reviewer != n.To.Address || !claims.Expires.Equal(n.LinkExpires) {
		t.Errorf("claims = %+v, %v", claims, err)
	}
	if _, err := signer(t).Verify(tok, e.clock.t.Add(21*24*time.Hour)); !errors.Is(err, campaign.ErrLinkExpired) {
		t.Errorf("after the TTL: %v", err)
	}
	if n.To.Name != "Bob Martins" || n.MessageID == "" || !n.Deadline.Equal(deadline) {
		t.Errorf("notice = to %+v id %q deadline %v", n.To, n.MessageID, n.Deadline)
	}
}

func TestDecideErrorsRecordNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	d := campaign.Decision{ItemID: 7, Reviewer: "bob@acme.example", Kind: campaign.Certify, Source: "test"}
	if err := e.svc.Decide(ctx, c.ID, []campaign.Decision{d}); err == nil {
		t.Error("a decision on a draft was accepted")
	}
	e.send(t, c.ID)
	err := e.svc.Decide(ctx, c.ID, []campaign.Decision{d,
		{ItemID: 1, Reviewer: "carol@acme.example", Kind: campaign.Certify, Source: "test"},
		{ItemID: 99, Reviewer: "carol@acme.example", Kind: campaign.Certify, Source: "test"},
	})
	if !errors.Is(err, campaign.ErrJustification) || !strings.Contains(err.Error(), "item 99") {
		t.Errorf("err = %v", err)
	}
	if ds, _ := e.st.CampaignDecisions(ctx, c.ID); len(ds) != 0 {
		t.Errorf("a failed batch recorded %d decisions", len(ds))
	}
	// A "don't know" goes up the chain, and a bulk shares one id.
	e.decide(t, c.ID, campaign.Decision{ItemID: 7, Reviewer: "bob@acme.example", Kind: campaign.DontKnow, Source: "test"})
	if err := e.svc.Bulk(ctx, c.ID, campaign.Decision{Reviewer: "liam@acme.example", Kind: campaign.Certify, Source: "test"}, []int{7, 8}); err != nil {
		t.Fatal(err)
	}
	ds, _ := e.st.CampaignDecisions(ctx, c.ID)
	if len(ds) != 3 || ds[1].BulkID == "" || ds[1].BulkID != ds[2].BulkID || ds[0].BulkID != "" {
		t.Errorf("decisions = %+v", ds)
	}
	items, _ := e.st.CampaignItems(ctx, c.ID)
	if items[6].Reviewer != "liam@acme.example" || !items[6].Escalated {
		t.Errorf("after don't know: item 7 with %s (escalated %v), want liam", items[6].Reviewer, items[6].Escalated)
	}
}

func TestStatusAndReviewerItems(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	e.send(t, c.ID)
	e.clock.t = deadline.Add(time.Hour)
	st, err := e.svc.Status(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range st.Reviewers {
		got = append(got, fmt.Sprintf("%s %d/%d overdue %d notified %v", r.Reviewer, r.Open, r.Items, r.Overdue, !r.Notified.IsZero()))
	}
	want := []string{"bob@acme.example 2/2 overdue 2 notified true", "carol@acme.example 6/6 overdue 6 notified true",
		"liam@acme.example 4/4 overdue 4 notified true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reviewers (-want +got):\n%s", diff)
	}
	_, items, _, err := e.svc.ReviewerItems(ctx, c.ID, "LIAM@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if !slices.Equal(ids, []int{9, 10, 11, 12}) {
		t.Errorf("liam's items = %v", ids)
	}
}

// An item that comes back to a reviewer who was told about it before is
// news to them again.
func TestItemComingBackIsNotifiedAgain(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, campaign.Filter{})
	e.send(t, c.ID)
	e.box.take()
	e.decide(t, c.ID, campaign.Decision{ItemID: 7, Reviewer: "bob@acme.example", Kind: campaign.Reassign, ReassignTo: "carol@acme.example", Source: "test"})
	e.decide(t, c.ID, campaign.Decision{ItemID: 7, Reviewer: "carol@acme.example", Kind: campaign.Reassign, ReassignTo: "bob@acme.example", Source: "test"})
	e.send(t, c.ID)
	if diff := cmp.Diff([]string{"invite bob@acme.example: 2 items, new [7]"}, e.box.take()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
