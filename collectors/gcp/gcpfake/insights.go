package gcpfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	recommender "google.golang.org/api/recommender/v1"
)

// PolicyInsightType is the IAM recommender's insight type for role
// bindings.
const PolicyInsightType = "google.iam.policy.Insight"

// observationPeriod is the policy insights' observation period, 90 days,
// as the API writes durations.
const observationPeriod = "7776000s"

// listInsights serves a project's policy insights in the documented shape:
// content holds role, member, exercisedPermissions and inferredPermissions
// (each {permission, condition}) and currentTotalPermissionsCount; the
// observation period ends at the last refresh.
func (s *Server) listInsights(r *http.Request, proj, location, typ string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	if location != "global" || typ != PolicyInsightType {
		return nil, &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "unsupported insight type " + location + "/" + typ}
	}
	var out []*recommender.GoogleCloudRecommenderV1Insight
	for _, in := range p.Insights {
		perms := func(ps []string) []map[string]string {
			l := make([]map[string]string, 0, len(ps))
			for _, x := range ps {
				l = append(l, map[string]string{"permission": x, "condition": ""})
			}
			return l
		}
		content, _ := json.Marshal(map[string]any{
			"role": in.Role, "member": in.Member, "condition": nil,
			"exercisedPermissions": perms(in.Exercised), "inferredPermissions": perms(in.Inferred),
			"currentTotalPermissionsCount": strconv.Itoa(in.Total),
		})
		refreshed := in.Refreshed
		if refreshed.IsZero() {
			refreshed = s.seed.Now.UTC().Truncate(24 * time.Hour)
		}
		out = append(out, &recommender.GoogleCloudRecommenderV1Insight{
			Name:              "projects/" + p.Number + "/locations/global/insightTypes/" + PolicyInsightType + "/insights/" + in.ID,
			Description:       "permission usage of " + in.Role + " by " + in.Member,
			Category:          "SECURITY",
			InsightSubtype:    "PERMISSIONS_USAGE",
			Severity:          "LOW",
			LastRefreshTime:   ts(refreshed),
			ObservationPeriod: observationPeriod,
			TargetResources:   []string{"//cloudresourcemanager.googleapis.com/projects/" + p.Number},
			StateInfo:         &recommender.GoogleCloudRecommenderV1InsightStateInfo{State: "ACTIVE"},
			Content:           content,
			Etag:              `"` + in.ID + `"`,
		})
	}
	from, to, next, e := page(r, len(out), s.pageSize(r, 1000, 1000))
	if e != nil {
		return nil, e
	}
	return &recommender.GoogleCloudRecommenderV1ListInsightsResponse{Insights: out[from:to], NextPageToken: next}, nil
}
