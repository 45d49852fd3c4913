package gcp

import (
	"encoding/json"
	"testing"

	recommender "google.golang.org/api/recommender/v1"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// googleReplaceRole is a REPLACE_ROLE recommendation as Google's
// documentation shows one (its example with a service account member),
// plus a removal from a conditional binding added to its group.
const googleReplaceRole = `{
  "name": "projects/123/locations/global/recommenders/google.iam.policy.Recommender/recommendations/217d3019",
  "description": "Replace the current role with a smaller role to cover the permissions needed.",
  "lastRefreshTime": "2023-07-28T07:00:00Z",
  "primaryImpact": {"category": "SECURITY", "securityProjection": {"details": {"revokedIamPermissionsCount": 610}}},
  "content": {
    "operationGroups": [{"operations": [
      {"action": "add", "resourceType": "cloudresourcemanager.googleapis.com/Project",
       "resource": "//cloudresourcemanager.googleapis.com/projects/123", "path": "/iamPolicy/bindings/*/members/-",
       "value": "serviceAccount:etl@p.iam.gserviceaccount.com",
       "pathFilters": {"/iamPolicy/bindings/*/condition/expression": "", "/iamPolicy/bindings/*/role": "roles/compute.instanceAdmin"}},
      {"action": "remove", "resourceType": "cloudresourcemanager.googleapis.com/Project",
       "resource": "//cloudresourcemanager.googleapis.com/projects/123", "path": "/iamPolicy/bindings/*/members/*",
       "pathFilters": {"/iamPolicy/bindings/*/condition/expression": "",
         "/iamPolicy/bindings/*/members/*": "serviceAccount:etl@p.iam.gserviceaccount.com", "/iamPolicy/bindings/*/role": "roles/compute.admin"}},
      {"action": "remove", "resourceType": "cloudresourcemanager.googleapis.com/Project",
       "resource": "//cloudresourcemanager.googleapis.com/projects/123", "path": "/iamPolicy/bindings/*/members/*",
       "pathFilters": {"/iamPolicy/bindings/*/condition/expression": "request.time < timestamp('2030-01-01T00:00:00Z')",
         "/iamPolicy/bindings/*/members/*": "serviceAccount:etl@p.iam.gserviceaccount.com", "/iamPolicy/bindings/*/role": "roles/storage.admin"}}
    ]}],
    "overview": {"member": "serviceAccount:etl@p.iam.gserviceaccount.com", "removedRole": "roles/compute.admin",
      "addedRoles": ["roles/compute.instanceAdmin"], "minimumObservationPeriodInDays": "0"}
  },
  "stateInfo": {"state": "ACTIVE"},
  "etag": "\"892d57ee41baa03e\"",
  "recommenderSubtype": "REPLACE_ROLE",
  "associatedInsights": [{"insight": "projects/123/locations/global/insightTypes/google.iam.policy.Insight/insights/i"}],
  "priority": "P4"
}`

// Google's documented example reads as a replace of the unconditional
// binding only.
func TestBindingRecommendationsOfGoogleExample(t *testing.T) {
	var r recommender.GoogleCloudRecommenderV1Recommendation
	if err := json.Unmarshal([]byte(googleReplaceRole), &r); err != nil {
		t.Fatal(err)
	}
	got := bindingRecommendations(&r)
	if len(got) != 1 {
		t.Fatalf("got %d recommendations, want 1 (the conditional binding's is left out): %v", len(got), got)
	}
	g := got[insightKey("serviceAccount:etl@p.iam.gserviceaccount.com", "roles/compute.admin")]
	if g == nil || g.Action != nhi.RecommendReplace || len(g.Replace) != 1 || g.Replace[0] != "roles/compute.instanceAdmin" ||
		g.Subtype != "REPLACE_ROLE" || g.Priority != "P4" || g.AsOf.IsZero() {
		t.Errorf("recommendation = %+v", g)
	}
}
