package gcp_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// checkPartial checks what a partial collection may claim against a full
// one of the same organisation: every identity's scope is listed; what the
// full scan saw is there or hidden by a gap on its facet (so nothing can
// look removed); nothing appears that the full scan does not have; and
// nothing the full scan saw used is reported never used.
func checkPartial(t *testing.T, full, part nhi.Inventory) {
	t.Helper()
	for _, id := range part.Identities {
		if !hasScopeID(part, id.Scope) {
			t.Errorf("%s (%s) is in scope %q, which Scopes does not list", id.ID, id.Name, id.Scope)
		}
	}
	checkHidden(t, 0, full, part)
	checkNoSubstitutes(t, 0, full, part)
	used := map[string]bool{}
	for _, id := range full.Identities {
		used[id.ID] = id.Usage.State == nhi.UsageUsed
		for _, c := range id.Credentials {
			used[id.ID+"/"+c.ID] = c.Usage.State == nhi.UsageUsed
		}
	}
	for _, id := range part.Identities {
		if id.Usage.State == nhi.UsageNeverUsed && used[id.ID] {
			t.Errorf("%s (%s) was used but the partial scan says never used", id.ID, id.Name)
		}
		for _, c := range id.Credentials {
			if c.Usage.State == nhi.UsageNeverUsed && used[id.ID+"/"+c.ID] {
				t.Errorf("%s key %s was used but the partial scan says never used", id.Name, c.ID)
			}
		}
	}
}

func hasScopeID(inv nhi.Inventory, id string) bool {
	for _, s := range inv.Scopes {
		if s.ID == id {
			return true
		}
	}
	return false
}

// TestPartialCollectionNeverLooksRemoved injects failures at the
// organisation and project level and checks that whatever a scan misses is
// covered by a gap on the scope it belongs to.
func TestPartialCollectionNeverLooksRemoved(t *testing.T) {
	full := collectortest.Collect(t, collector(t, demo(t)))
	org := "organizations/" + gcpfake.DemoOrganization
	cases := map[string]func(*gcpfake.Server){
		"policy search denied": func(s *gcpfake.Server) { s.Deny(org, gcpfake.OpSearchIamPolicies) },
		"policy search denied after one page": func(s *gcpfake.Server) {
			s.SetPageSize(2)
			s.DenyAfter(org, gcpfake.OpSearchIamPolicies, 1)
		},
		"policy search and one project policy denied": func(s *gcpfake.Server) {
			s.Deny(org, gcpfake.OpSearchIamPolicies)
			s.Deny("acme-platform-prod", gcpfake.OpGetProjectIamPolic)
		},
		"asset list and resource manager denied": func(s *gcpfake.Server) {
			s.Deny(org, gcpfake.OpListAssets)
			s.Deny("", gcpfake.OpListProjects)
		},
		"one project's accounts denied in fallback": func(s *gcpfake.Server) {
			s.Deny(org, gcpfake.OpListAssets)
			s.Deny("acme-data-prod", gcpfake.OpListSAs)
		},
		"one project's keys denied in fallback": func(s *gcpfake.Server) {
			s.Deny(org, gcpfake.OpListAssets)
			s.Deny("acme-payments-prod", gcpfake.OpListKeys)
		},
		"activity denied": func(s *gcpfake.Server) { s.Deny("acme-data-prod", gcpfake.OpQueryActivity) },
	}
	// 32 assets in pages of 2: fail after every page count, with and without
	// Resource Manager to fall back on.
	for pages := 0; pages < 16; pages++ {
		cases[fmt.Sprintf("asset list denied after %02d pages", pages)] = func(s *gcpfake.Server) {
			s.SetPageSize(2)
			s.DenyAfter(org, gcpfake.OpListAssets, pages)
		}
		cases[fmt.Sprintf("asset list denied after %02d pages, no resource manager", pages)] = func(s *gcpfake.Server) {
			s.SetPageSize(2)
			s.DenyAfter(org, gcpfake.OpListAssets, pages)
			s.Deny("", gcpfake.OpListProjects)
			s.Deny("", gcpfake.OpListFolders)
		}
		cases[fmt.Sprintf("asset list denied after %02d pages, no resource manager, one project's accounts denied", pages)] = func(s *gcpfake.Server) {
			s.SetPageSize(2)
			s.DenyAfter(org, gcpfake.OpListAssets, pages)
			s.Deny("", gcpfake.OpListProjects)
			s.Deny("acme-payments-prod", gcpfake.OpListSAs)
		}
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			srv := demo(t)
			cases[name](srv)
			inv, err := collector(t, srv).Collect(context.Background())
			if err != nil {
				// Nothing could be placed: a failed scan, never a baseline.
				if len(inv.Identities) != 0 || !errors.Is(err, collectors.ErrDenied) {
					t.Fatalf("Collect: %v with %d identities", err, len(inv.Identities))
				}
			}
			if err := inv.Validate(); err != nil {
				t.Fatal(err)
			}
			if len(inv.Gaps) == 0 {
				t.Fatal("an injected failure left no gap")
			}
			checkPartial(t, full, inv)
		})
	}
}
