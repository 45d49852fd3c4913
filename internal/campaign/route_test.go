package campaign_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

type routed struct {
	Label, Reviewer, Conflict, Conflicted string
}

func route(t *testing.T, r campaign.Router, in campaign.BuildInput) ([]campaign.Item, []int) {
	t.Helper()
	items := campaign.Build(in)
	unrouted := r.Route(items, &in.Inventory)
	return items, unrouted
}

func TestRouteChainAndConflicts(t *testing.T) {
	in := testBuildInput()
	r := campaign.Router{People: campaign.NewPeople(in.Catalog.People), Fallback: "grace@acme.example", Now: t0}
	items, unrouted := route(t, r, in)
	if len(unrouted) != 0 {
		t.Fatalf("unrouted = %v", unrouted)
	}
	var got []routed
	for _, it := range items {
		got = append(got, routed{it.Label(), it.Reviewer, it.Conflict, it.Conflicted})
	}
	selfReview := "self-review: bob@acme.example owns this token (token-owner bobm)"
	creator := "bob@acme.example created this credential (github-added-by bobm)"
	want := []routed{
		// The business owner reviews.
		{"platform-deployer", "carol@acme.example", "", ""},
		{"platform-deployer / aws-access-key AKIANEW", "carol@acme.example", "", ""},
		{"platform-deployer / aws-access-key AKIAOLD", "carol@acme.example", "", ""},
		{"platform-deployer / arn:aws:iam::aws:policy/AdministratorAccess @ 111111111111", "carol@acme.example", "", ""},
		// The leaver's manager gets the reassignment item.
		{"dan-scripts", "carol@acme.example", "", ""},
		{"dan-scripts / aws-access-key AKIADAN", "carol@acme.example", "", ""},
		{"payments-runtime", "bob@acme.example", "", ""},
		{"payments-runtime / arn:aws:iam::aws:policy/ReadOnlyAccess @ 222222222222", "bob@acme.example", "", ""},
		// Bob added the deploy key and owns the token: the technical owner
		// reviews instead, and the conflict is recorded.
		{"payments-deploy", "liam@acme.example", creator, "bob@acme.example"},
		{"payments-deploy / github-deploy-key 9", "liam@acme.example", creator, "bob@acme.example"},
		{"bob-release-token", "liam@acme.example", selfReview, "bob@acme.example"},
		{"bob-release-token / github-fine-grained-token 7", "liam@acme.example", selfReview, "bob@acme.example"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routing (-want +got):\n%s", diff)
	}
}

func TestRouteFallbacks(t *testing.T) {
	base := testBuildInput()
	people := campaign.NewPeople(base.Catalog.People)
	reviewer := func(o nhi.Ownership, fallback string) string {
		in := testBuildInput()
		in.Inventory.Identities = in.Inventory.Identities[1:2] // payments-runtime
		in.Ownership = map[string]nhi.Ownership{"aws:AROAPAY": o}
		items, unrouted := route(t, campaign.Router{People: people, Fallback: fallback, Now: t0}, in)
		if len(unrouted) > 0 {
			return "(unrouted)"
		}
		return items[0].Reviewer
	}
	for _, tc := range []struct {
		name     string
		o        nhi.Ownership
		fallback string
		want     string
	}{
		{"business owner", nhi.Ownership{Owner: "liam@acme.example", OwnerStatus: nhi.OwnerActive, TechnicalOwner: "bob@acme.example"}, "", "liam@acme.example"},
		{"owner by alias", nhi.Ownership{Owner: "BOBM", OwnerStatus: nhi.OwnerActive}, "", "bob@acme.example"},
		{"owner not a person: technical owner", nhi.Ownership{Owner: "zoe-former", OwnerStatus: nhi.OwnerUnknown, TechnicalOwner: "bob@acme.example"}, "", "bob@acme.example"},
		{"owner left: the manager gets the leaver item", nhi.Ownership{Owner: "dan@acme.example", OwnerStatus: nhi.OwnerDeparted, TechnicalOwner: "bob@acme.example"}, "", "carol@acme.example"},
		{"technical owner is a team: fallback", nhi.Ownership{Owner: "zoe", OwnerStatus: nhi.OwnerUnknown, TechnicalOwner: "platform"}, "grace@acme.example", "grace@acme.example"},
		{"nobody", nhi.Ownership{OwnerStatus: nhi.OwnerNone}, "", "(unrouted)"},
		{"fallback only", nhi.Ownership{OwnerStatus: nhi.OwnerNone}, "grace@acme.example", "grace@acme.example"},
		{"departed fallback is no reviewer", nhi.Ownership{OwnerStatus: nhi.OwnerNone}, "dan@acme.example", "(unrouted)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reviewer(tc.o, tc.fallback); got != tc.want {
				t.Errorf("reviewer = %s, want %s", got, tc.want)
			}
		})
	}
	// A leaver item whose owner had no manager goes to the technical owner.
	in := testBuildInput()
	in.Inventory.Identities = in.Inventory.Identities[4:5] // dan-scripts
	in.Ownership = map[string]nhi.Ownership{"aws:AIDAOLD": {Owner: "zoe-gone", OwnerStatus: nhi.OwnerDeparted, TechnicalOwner: "alice@acme.example"}}
	items, _ := route(t, campaign.Router{People: people, Now: t0}, in)
	if items[0].Kind != campaign.KindLeaver || items[0].Reviewer != "alice@acme.example" {
		t.Errorf("leaver without a manager: %s item to %s, want leaver to alice", items[0].Kind, items[0].Reviewer)
	}
}

// The certify shortcut sends everything to one reviewer, flagging (not
// rerouting) conflicts.
func TestRouteSingleReviewer(t *testing.T) {
	in := testBuildInput()
	r := campaign.Router{People: campaign.NewPeople(in.Catalog.People), Single: "BOBM", Now: t0}
	items, unrouted := route(t, r, in)
	if len(unrouted) != 0 {
		t.Fatal(unrouted)
	}
	for _, it := range items {
		if it.Reviewer != "bob@acme.example" || it.Conflicted != "" {
			t.Errorf("item %d to %s (conflicted %q), want bob, not conflicted", it.ID, it.Reviewer, it.Conflicted)
		}
	}
	if items[10].Conflict == "" {
		t.Error("bob's own token is not flagged as self-review")
	}
}

func TestEscalationTarget(t *testing.T) {
	people := campaign.NewPeople(testCatalog().People)
	for _, tc := range []struct{ reviewer, fallback, conflicted, want string }{
		{"alice@acme.example", "grace@acme.example", "", "carol@acme.example"},
		{"grace@acme.example", "liam@acme.example", "", "liam@acme.example"}, // no manager: fallback
		{"grace@acme.example", "grace@acme.example", "", ""},                 // nobody above
		{"bob@acme.example", "", "", "liam@acme.example"},
		{"someone@else.example", "grace@acme.example", "", "grace@acme.example"},
		// alice reviews carol's own token (carol is conflicted): escalation
		// skips carol, her manager, for the fallback.
		{"alice@acme.example", "grace@acme.example", "carol@acme.example", "grace@acme.example"},
		{"alice@acme.example", "carol@acme.example", "carol@acme.example", ""},
	} {
		if got := campaign.EscalationTarget(people, tc.fallback, tc.reviewer, tc.conflicted, t0); got != tc.want {
			t.Errorf("EscalationTarget(%s, fallback %s) = %q, want %q", tc.reviewer, tc.fallback, got, tc.want)
		}
	}
}

// A person who held an identity's credentials (the analyzer's custodian:
// a token owner, GitHub added_by, an owner tag) left while the role's owner
// stays: the identity becomes a leaver item for the leaver's manager.
func TestRouteCustodianLeaver(t *testing.T) {
	in := testBuildInput()
	in.Findings = append(in.Findings, nhi.Finding{Fingerprint: "cust", RuleID: rules.RuleOwnerDeparted, Family: nhi.FamilyOrphaned,
		Severity: nhi.SevHigh, IdentityID: "aws:AROAPAY", Evidence: nhi.EvidenceOf(map[string]string{"custodian": "dan@acme.example", "custodian_source": "tag"})})
	people := campaign.NewPeople(in.Catalog.People)
	items, _ := route(t, campaign.Router{People: people, Fallback: "grace@acme.example", Now: t0}, in)
	it := items[6]
	if it.Kind != campaign.KindLeaver || it.Reviewer != "carol@acme.example" || it.Context.Leaver == nil || it.Context.Leaver.Person != "dan@acme.example" {
		t.Errorf("payments-runtime: %s to %s, leaver %+v; want a leaver item for dan's manager carol", it.Kind, it.Reviewer, it.Context.Leaver)
	}
	if !it.Deadline.Equal(in.LeaverDeadline) {
		t.Errorf("deadline %v, want the leaver deadline", it.Deadline)
	}
	in.Filter.LeaversOnly = true
	var names []string
	for _, x := range campaign.Build(in) {
		if x.ParentID == 0 {
			names = append(names, x.IdentityName)
		}
	}
	if strings.Join(names, ",") != "dan-scripts,payments-runtime" {
		t.Errorf("leavers only = %v", names)
	}
}

// Where a provider says who created or last changed a credential, that
// person does not review it.
func TestRouteConflictFromCredentialAttributes(t *testing.T) {
	in := testBuildInput()
	for i := range in.Inventory.Identities {
		id := &in.Inventory.Identities[i]
		if id.ID == "aws:AIDADEPLOY" {
			id.Credentials[1].Attributes = map[string]string{"last_changed_by": "Carol@acme.example"}
		}
	}
	people := campaign.NewPeople(in.Catalog.People)
	items, _ := route(t, campaign.Router{People: people, Fallback: "grace@acme.example", Now: t0}, in)
	it := items[0]
	if it.Reviewer != "alice@acme.example" || it.Conflicted != "carol@acme.example" ||
		it.Conflict != "carol@acme.example last changed credential AKIANEW (last_changed_by)" {
		t.Errorf("platform-deployer to %s, conflict %q (%s); want the technical owner alice, carol conflicted", it.Reviewer, it.Conflict, it.Conflicted)
	}
}
