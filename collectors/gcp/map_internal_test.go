package gcp

import (
	"errors"
	"slices"
	"testing"
	"time"

	iam "google.golang.org/api/iam/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// newScan returns an empty scan state for tests of the mapping.
func newScan() *scan {
	return &scan{
		now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), projects: map[string]*project{}, byNumber: map[string]string{},
		accounts: map[string]*account{}, byEmail: map[string]string{}, keys: map[string][]*iam.ServiceAccountKey{},
		scopes: map[string]string{}, gaps: collectors.NewGaps(nhi.GCP, ops), searchFailedAt: map[string]bool{},
		federated: map[string]*principal{}, keyUnknown: map[string]string{}, keyKnown: map[string]bool{}, roles: map[string]*roleDef{}, pools: map[string]*pool{}, accountPolicy: map[string][]binding{},
	}
}

// TestUnplaceableBindingsAreLeftOut covers what the fallback cannot
// place once the asset listing failed: a project seen only through its
// accounts (no number, no labels), and projects never enumerated. Nothing
// is keyed as a clean scan would not key it; each omission is a gap on the
// facet it belongs to.
func TestUnplaceableBindingsAreLeftOut(t *testing.T) {
	c, err := New(Config{Projects: []string{"p1"}, NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	const (
		runner  = "runner@p1.iam.gserviceaccount.com"
		agent   = "service-111@gcp-sa-pubsub.iam.gserviceaccount.com"
		foreign = "sync@vendor.iam.gserviceaccount.com"
		orgBind = "//cloudresourcemanager.googleapis.com/organizations/9"
	)
	for _, tc := range []struct {
		name         string
		unenumerated bool
		wantIDs      []string
		wantGrants   []string
		hidden       map[string][]nhi.Facet
		observed     map[string][]nhi.Facet
	}{
		{
			name: "numberless project",
			// The binding on project 111 and the agent of project 111 may
			// both be p1's: left out. The outside account is placed.
			wantIDs:    []string{"gcp:104", "gcp:external:" + foreign},
			wantGrants: []string{"roles/viewer@organizations/9"},
			hidden: map[string][]nhi.Facet{"p1": {facetAccounts, facetBindings, nhi.FacetOwnership},
				"organizations/9": {facetAccounts, facetBindings}},
		},
		{
			name:         "projects not all enumerated",
			unenumerated: true,
			wantIDs:      []string{"gcp:104"},
			wantGrants:   []string{"roles/viewer@organizations/9"},
			hidden: map[string][]nhi.Facet{"p1": {facetAccounts, facetBindings, nhi.FacetOwnership},
				"organizations/9": {facetAccounts, facetBindings}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScan()
			s.assetErr = errors.New("access denied")
			s.unenumerated = tc.unenumerated
			s.scopes["organizations/9"] = ""
			s.addProject(&project{id: "p1", listed: true})
			s.addAccount(&iam.ServiceAccount{UniqueId: "104", Email: runner, ProjectId: "p1"})
			s.addBindings(orgBind, []binding{
				{role: "roles/viewer", member: "serviceAccount:" + runner},
				{role: "roles/editor", member: "serviceAccount:" + agent},
				{role: "roles/browser", member: "serviceAccount:" + foreign},
			}, anyCollected)
			s.addBindings("//cloudresourcemanager.googleapis.com/projects/111", []binding{{role: "roles/owner", member: "serviceAccount:" + runner}}, anyCollected)
			inv := c.build(s)
			var ids, grants []string
			for _, id := range inv.Identities {
				ids = append(ids, id.ID)
				if id.ID == "gcp:104" {
					for _, g := range id.Grants {
						grants = append(grants, g.ID)
					}
				}
			}
			if !slices.Equal(ids, tc.wantIDs) || !slices.Equal(grants, tc.wantGrants) {
				t.Errorf("identities %v grants %v, want %v %v", ids, grants, tc.wantIDs, tc.wantGrants)
			}
			cov := inv.Coverage()
			for scope, fs := range tc.hidden {
				for _, f := range fs {
					if cov.Observed(nhi.GCP, scope, f) {
						t.Errorf("%s %s observed; gaps %+v", scope, f, inv.Gaps)
					}
				}
			}
			for _, f := range []nhi.Facet{facetUserKeys, facetAPIKeys, facetUsage} {
				if !cov.Observed(nhi.GCP, "p1", f) {
					t.Errorf("p1 %s not observed: only the identity list, grants and owner data are lost", f)
				}
			}
		})
	}
}
