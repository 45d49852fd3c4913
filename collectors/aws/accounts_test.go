package aws_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestAccountsSplitsLikeCollect: the accounts Accounts lists, each
// collected alone with the organisation's known accounts as trusted, merge
// into the inventory one Collect of the organisation returns (a fleet
// worker collects them so, one job each).
func TestAccountsSplitsLikeCollect(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	ctx := context.Background()
	whole, err := newCollector(t, srv, nil).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scopes, known, err := newCollector(t, srv, nil).Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range scopes {
		ids = append(ids, s.ID)
	}
	if want := []string{awsfake.DemoManagement, awsfake.DemoPayments, awsfake.DemoData}; !slices.Equal(ids, want) {
		t.Fatalf("accounts %v, want the active ones %v", ids, want)
	}
	if !slices.Contains(known, awsfake.DemoSandbox) {
		t.Errorf("known %v lacks the suspended member: a trust naming it would look external", known)
	}
	var parts []nhi.Inventory
	for _, s := range scopes {
		inv, err := newCollector(t, srv, func(c *awscol.Config) {
			c.Organization, c.Accounts, c.TrustedAccounts = false, []string{s.ID}, known
		}).Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range inv.Scopes {
			inv.Scopes[i].Name = s.Name // the organisation's listing names it
		}
		parts = append(parts, inv)
	}
	if d := cmp.Diff(whole, nhi.Merge(parts...), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("accounts collected apart differ from one Collect (-whole +apart):\n%s", d)
	}
}

// TestAccountsListingCutShort: when the organisation's account list fails,
// Accounts says so instead of returning a partial list, since which
// accounts are external would be unknown.
func TestAccountsListingCutShort(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.Deny(awsfake.DemoManagement, "organizations:ListAccounts")
	_, _, err := newCollector(t, srv, nil).Accounts(context.Background())
	if err == nil || !strings.Contains(err.Error(), "list organization accounts") {
		t.Fatalf("a denied account listing: %v, want the listing's error", err)
	}
}
