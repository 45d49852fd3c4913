package gcp

import (
	"testing"
	"time"

	iam "google.golang.org/api/iam/v1"
	policyanalyzer "google.golang.org/api/policyanalyzer/v1"
)

// TestActivityWithoutServiceAccountID checks that an activity naming its
// account only by full resource name (email) still counts as a use of that
// account, rather than leaving it "never used"; and that a last
// authentication is kept as its day (Activity Analyzer's timestamps are
// the start of a day in Pacific time, not the time of the use).
func TestActivityWithoutServiceAccountID(t *testing.T) {
	const full = "//iam.googleapis.com/projects/p1/serviceAccounts/Runner@p1.iam.gserviceaccount.com"
	acts := []*policyanalyzer.GoogleCloudPolicyanalyzerV1Activity{
		{FullResourceName: full, Activity: []byte(`{"lastAuthenticatedTime":"2026-11-18T08:00:00Z","serviceAccount":{"fullResourceName":"` + full + `","projectNumber":"1"}}`)},
		{FullResourceName: full + "/keys/abc", Activity: []byte(`{"lastAuthenticatedTime":"2026-11-17T08:00:00Z","serviceAccountKey":{"fullResourceName":"` + full + `/keys/abc"}}`)},
	}
	p := &project{saLast: map[string]time.Time{}, keyLast: map[string]time.Time{}}
	for _, a := range acts {
		readActivity(a, p.saLast, p.keyLast)
	}
	last, seen := p.accountLast(&iam.ServiceAccount{UniqueId: "104", Email: "runner@p1.iam.gserviceaccount.com"})
	if !seen || !last.Equal(time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("account last authentication %v (seen %v), want the day 2026-11-18", last, seen)
	}
	if k := p.keyLast["abc"]; !k.Equal(time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("key last authentication %v", k)
	}
}

// TestGrantScopeNamesProjectsByID checks that a project binding found by
// the asset search is scoped to the project id whether the search names the
// project by number or by id (the Cloud Asset naming table lists both forms
// for search results).
func TestGrantScopeNamesProjectsByID(t *testing.T) {
	s := &scan{byNumber: map[string]string{"100000000005": "acme-identity-prod"}}
	for res, want := range map[string]string{
		"//cloudresourcemanager.googleapis.com/projects/100000000005":       "projects/acme-identity-prod",
		"//cloudresourcemanager.googleapis.com/projects/acme-identity-prod": "projects/acme-identity-prod",
		"//cloudresourcemanager.googleapis.com/folders/7":                   "folders/7",
		"//cloudresourcemanager.googleapis.com/organizations/9":             "organizations/9",
		"//storage.googleapis.com/bucket":                                   "storage.googleapis.com/bucket",
	} {
		if got, _ := s.grantScope(res); got != want {
			t.Errorf("grantScope(%s) = %s, want %s", res, got, want)
		}
	}
}
