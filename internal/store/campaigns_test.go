package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

func campaignItems() []campaign.Item {
	return []campaign.Item{
		{ID: 1, Kind: campaign.KindIdentity, Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:AIDAONE", IdentityName: "one",
			Reviewer: "carol@acme.example", Deadline: t0.AddDate(0, 0, 14)},
		{ID: 2, ParentID: 1, Kind: campaign.KindCredential, Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:AIDAONE",
			CredentialID: "AKIA1", Reviewer: "carol@acme.example", Deadline: t0.AddDate(0, 0, 14)},
		{ID: 3, Kind: campaign.KindIdentity, Provider: nhi.GitHub, Scope: "acme", IdentityID: "github:deploy-key:9", IdentityName: "nine",
			Reviewer: "liam@acme.example", Conflict: "bob created it", Conflicted: "bob@acme.example", Deadline: t0.AddDate(0, 0, 14)},
	}
}

func newCampaign(tb testing.TB, st *store.Store) int64 {
	tb.Helper()
	ctx := context.Background()
	scan := mustBegin(tb, st, t0)
	mustFinish(tb, st, scan, t0.Add(time.Minute), inventory(), nil)
	c := campaign.Campaign{Name: "Q4 review", ScanID: scan, CreatedBy: "operator", CreatedAt: t0, Deadline: t0.AddDate(0, 0, 14),
		Filter: campaign.Filter{PrivilegedOnly: true}, Policy: campaign.Policy{Unanswered: campaign.DefaultNone, Reminders: []time.Duration{time.Hour}}}
	id, err := st.CreateCampaign(ctx, c, campaignItems())
	if err != nil {
		tb.Fatalf("create campaign: %v", err)
	}
	return id
}

func TestCampaignCreateAndRead(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	id := newCampaign(t, st)
	c, err := st.Campaign(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != campaign.StateDraft || c.Name != "Q4 review" || !c.Filter.PrivilegedOnly || c.Policy.Reminders[0] != time.Hour ||
		!c.CreatedAt.Equal(t0) || c.Summary != nil {
		t.Errorf("campaign = %+v", c)
	}
	items, err := st.CampaignItems(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(campaignItems(), items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	asg, err := st.CampaignAssignments(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []campaign.Assignment{
		{ItemID: 1, Reviewer: "carol@acme.example", Reason: campaign.AssignRouted, By: campaign.Actor, At: t0},
		{ItemID: 3, Reviewer: "liam@acme.example", Reason: campaign.AssignConflict, By: campaign.Actor, At: t0},
	}
	if diff := cmp.Diff(want, asg); diff != "" {
		t.Errorf("assignments (-want +got):\n%s", diff)
	}
	if _, err := st.Campaign(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown campaign: %v", err)
	}
	list, err := st.Campaigns(ctx)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("campaigns = %v, %v", list, err)
	}
	if last := lastAudit(t, st); last.Action != store.ActionCampaignCreate || last.Detail["items"] != "3" || last.Detail["identities"] != "2" {
		t.Errorf("audit = %+v", last)
	}
}

func lastAudit(tb testing.TB, st *store.Store) store.AuditRecord {
	tb.Helper()
	recs, err := st.AuditEntries(context.Background())
	if err != nil || len(recs) == 0 {
		tb.Fatalf("audit: %v", err)
	}
	return recs[len(recs)-1]
}

func TestCampaignDecisionsAreAuditedAndNeedAnOpenCampaign(t *testing.T) {
	ctx := context.Background()
	st, path, _ := newStore(t)
	id := newCampaign(t, st)
	d := campaign.Decision{ItemID: 1, Reviewer: "carol@acme.example", Kind: campaign.Certify, Justification: "runs prod",
		Until: t0.AddDate(0, 6, 0), Source: "cli", At: t0.Add(time.Hour)}
	if err := st.RecordDecisions(ctx, id, []campaign.Decision{d}, nil); !errors.Is(err, store.ErrCampaignState) {
		t.Fatalf("decision on a draft: %v, want ErrCampaignState", err)
	}
	if err := st.OpenCampaign(ctx, id, t0.Add(time.Minute), "operator"); err != nil {
		t.Fatal(err)
	}
	if err := st.OpenCampaign(ctx, id, t0.Add(time.Minute), "operator"); !errors.Is(err, store.ErrCampaignState) {
		t.Errorf("second open: %v", err)
	}
	bulk := []campaign.Decision{d,
		{ItemID: 3, Reviewer: "liam@acme.example", Kind: campaign.Reassign, ReassignTo: "alice@acme.example", BulkID: "b1",
			Conflict: "bob created it", Source: "import", At: t0.Add(2 * time.Hour)},
		{ItemID: 2, Reviewer: "carol@acme.example", Kind: campaign.Reduce, Grants: []string{"g1", "g2"}, Source: "web", Client: "192.0.2.7", At: t0.Add(3 * time.Hour)},
	}
	asg := []campaign.Assignment{{ItemID: 3, Reviewer: "alice@acme.example", Reason: campaign.AssignReassign, By: "liam@acme.example", At: t0.Add(2 * time.Hour)}}
	if err := st.RecordDecisions(ctx, id, bulk, asg); err != nil {
		t.Fatal(err)
	}
	got, err := st.CampaignDecisions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range bulk {
		bulk[i].ID, bulk[i].CampaignID = int64(i+1), id
	}
	if diff := cmp.Diff(bulk, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	items, err := st.CampaignItems(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if items[2].Reviewer != "alice@acme.example" || items[0].Reviewer != "carol@acme.example" {
		t.Errorf("reviewers after reassign = %s, %s", items[0].Reviewer, items[2].Reviewer)
	}
	recs, err := st.AuditEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs[len(recs)-4:] {
		actions = append(actions, r.Actor+" "+r.Action+" "+r.Subject+" "+r.Detail["decision"]+r.Detail["reason"])
	}
	wantActions := []string{
		"carol@acme.example campaign.decision campaign:1/item:1 certify",
		"liam@acme.example campaign.decision campaign:1/item:3 reassign",
		"carol@acme.example campaign.decision campaign:1/item:2 reduce",
		"liam@acme.example campaign.assign campaign:1/item:3 reassign",
	}
	if diff := cmp.Diff(wantActions, actions); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	first := recs[len(recs)-4]
	if first.Detail["justification"] != "runs prod" || !first.At.Equal(d.At) || first.Detail["until"] == "" {
		t.Errorf("decision audit detail = %+v", first)
	}
	if n, err := st.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after %d entries: %v", n, err)
	}

	// Nothing is written when one decision of a batch is bad.
	bad := []campaign.Decision{d, {ItemID: 42, Reviewer: "x", Kind: campaign.Certify, Source: "cli", At: t0}}
	if err := st.RecordDecisions(ctx, id, bad, nil); err == nil {
		t.Fatal("a decision on a missing item was recorded")
	}
	if after, _ := st.CampaignDecisions(ctx, id); len(after) != 3 {
		t.Errorf("a failed batch left %d decisions, want 3", len(after))
	}
	// An assignment of a credential item is refused.
	if err := st.AssignItems(ctx, id, []campaign.Assignment{{ItemID: 2, Reviewer: "x", Reason: "escalated", By: "nhiscan", At: t0}}); err == nil {
		t.Error("assigning a credential item on its own was accepted")
	}

	// The logs are append-only, in SQL too.
	db := rawDB(t, path)
	for _, q := range []string{
		"UPDATE campaign_decisions SET kind = 'revoke'",
		"DELETE FROM campaign_decisions",
		"UPDATE campaign_items SET kind = 'grant'",
		"DELETE FROM campaign_assignments",
		"UPDATE campaign_assignments SET reviewer = 'eve'",
		"DELETE FROM campaigns",
	} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") && !strings.Contains(err.Error(), "never deleted") {
			t.Errorf("%s: err = %v, want refused", q, err)
		}
	}
}

func TestCampaignDeliveryLogIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st, path, _ := newStore(t)
	id := newCampaign(t, st)
	d := campaign.Delivery{CampaignID: id, Key: "told|carol@acme.example|1", Recipient: "carol@acme.example", Kind: campaign.NoticeInvite,
		Transport: "smtp", Status: campaign.DeliveryFailed, Error: "421 try later", At: t0}
	if err := st.RecordDeliveries(ctx, []campaign.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	d.Status, d.Error, d.MessageID, d.At = campaign.DeliverySent, "", "<m1@nhiscan>", t0.Add(time.Minute)
	if err := st.RecordDeliveries(ctx, []campaign.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	d.At = t0.Add(2 * time.Minute)
	if err := st.RecordDeliveries(ctx, []campaign.Delivery{d}); !errors.Is(err, store.ErrDelivered) {
		t.Errorf("second successful delivery: %v, want ErrDelivered", err)
	}
	// A batch with a key already delivered writes nothing.
	fresh := d
	fresh.Key = "told|carol@acme.example|3"
	if err := st.RecordDeliveries(ctx, []campaign.Delivery{fresh, d}); !errors.Is(err, store.ErrDelivered) {
		t.Errorf("batch with a delivered key: %v, want ErrDelivered", err)
	}
	got, err := st.CampaignDeliveries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Status != campaign.DeliveryFailed || got[1].Status != campaign.DeliverySent || got[1].MessageID != "<m1@nhiscan>" {
		t.Errorf("deliveries = %+v", got)
	}
	if _, err := rawDB(t, path).Exec("DELETE FROM campaign_deliveries"); err == nil {
		t.Error("the delivery log can be deleted")
	}
}

func TestCampaignClose(t *testing.T) {
	ctx := context.Background()
	st, path, _ := newStore(t)
	id := newCampaign(t, st)
	at := t0.AddDate(0, 0, 15)
	in := campaign.Closing{At: at, Actor: "operator",
		Defaults:      []campaign.Decision{{ItemID: 3, Reviewer: campaign.Actor, Kind: campaign.Unanswered, Default: campaign.DefaultRevoke, Source: "close", At: at}},
		Certification: nhi.Certification{At: at, Grants: map[string][]string{"aws:AIDAONE": {"b", "a"}}},
		Summary:       campaign.KPIs{Items: 3, Certified: 2, Unanswered: 1, Overdue: 1},
	}
	if err := st.CloseCampaign(ctx, id, in); !errors.Is(err, store.ErrCampaignState) {
		t.Fatalf("closing a draft: %v", err)
	}
	if err := st.OpenCampaign(ctx, id, t0, "operator"); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseCampaign(ctx, id, in); err != nil {
		t.Fatal(err)
	}
	c, err := st.Campaign(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != campaign.StateClosed || !c.ClosedAt.Equal(at) || c.Summary == nil || c.Summary.Certified != 2 {
		t.Errorf("closed campaign = %+v", c)
	}
	cert, err := st.LatestCertification(ctx)
	if err != nil || cert == nil || !cert.At.Equal(at) || cert.Grants["aws:AIDAONE"][0] != "a" {
		t.Errorf("certification = %+v, %v", cert, err)
	}
	ds, _ := st.CampaignDecisions(ctx, id)
	if len(ds) != 1 || ds[0].Default != campaign.DefaultRevoke {
		t.Errorf("defaults = %+v", ds)
	}
	last := lastAudit(t, st)
	if last.Action != store.ActionCampaignClose || last.Detail["certified"] != "2" || len(last.Detail["summary_sha256"]) != 64 {
		t.Errorf("close audit = %+v", last)
	}
	if err := st.CloseCampaign(ctx, id, in); !errors.Is(err, store.ErrCampaignState) {
		t.Errorf("second close: %v", err)
	}
	if _, err := rawDB(t, path).Exec("UPDATE campaigns SET name = 'x' WHERE id = ?", id); err == nil || !strings.Contains(err.Error(), "final") {
		t.Errorf("editing a closed campaign: %v", err)
	}
}
