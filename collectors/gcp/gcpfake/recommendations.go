package gcpfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	recommender "google.golang.org/api/recommender/v1"
)

// PolicyRecommender is the IAM recommender's recommender of role
// recommendations.
const PolicyRecommender = "google.iam.policy.Recommender"

// bindingPath and the path filters of a role recommendation's operations
// on a project's IAM policy.
const (
	removePath      = "/iamPolicy/bindings/*/members/*"
	addPath         = "/iamPolicy/bindings/*/members/-"
	filterRole      = "/iamPolicy/bindings/*/role"
	filterMember    = "/iamPolicy/bindings/*/members/*"
	filterCondition = "/iamPolicy/bindings/*/condition/expression"
	projectType     = "cloudresourcemanager.googleapis.com/Project"
)

// listRecommendations serves a project's role recommendations in the
// documented shape: one operation group that adds the member to each
// replacement role ("add", path …/members/-, value the member) and
// removes it from the role ("remove", path …/members/*, filtered by role,
// member and condition expression, "" for an unconditional binding);
// overview names the member, the removed role and
// the added roles; the primary impact is SECURITY.
func (s *Server) listRecommendations(r *http.Request, proj, location, typ string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	if location != "global" || typ != PolicyRecommender {
		return nil, &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "unsupported recommender " + location + "/" + typ}
	}
	out := make([]*recommender.GoogleCloudRecommenderV1Recommendation, 0, len(p.Recommendations))
	for _, rec := range p.Recommendations {
		out = append(out, s.recommendation(p, rec))
	}
	from, to, next, e := page(r, len(out), s.pageSize(r, 1000, 1000))
	if e != nil {
		return nil, e
	}
	return &recommender.GoogleCloudRecommenderV1ListRecommendationsResponse{Recommendations: out[from:to], NextPageToken: next}, nil
}

func (s *Server) recommendation(p *Project, rec Recommendation) *recommender.GoogleCloudRecommenderV1Recommendation {
	resource := "//cloudresourcemanager.googleapis.com/projects/" + p.ID
	cond := "" // an unconditional binding
	if rec.Condition != "" {
		cond = rec.Condition
	}
	var ops []*recommender.GoogleCloudRecommenderV1Operation
	for _, role := range rec.Replace {
		ops = append(ops, &recommender.GoogleCloudRecommenderV1Operation{Action: "add", ResourceType: projectType, Resource: resource,
			Path: addPath, Value: rec.Member, PathFilters: raw(map[string]any{filterCondition: cond, filterRole: role})})
	}
	ops = append(ops, &recommender.GoogleCloudRecommenderV1Operation{Action: "remove", ResourceType: projectType, Resource: resource,
		Path: removePath, PathFilters: raw(map[string]any{filterCondition: cond, filterMember: rec.Member, filterRole: rec.Role})})
	subtype, state, priority := rec.Subtype, rec.State, rec.Priority
	if subtype == "" {
		subtype = "REMOVE_ROLE"
		if len(rec.Replace) > 0 {
			subtype = "REPLACE_ROLE"
		}
	}
	if state == "" {
		state = "ACTIVE"
	}
	if priority == "" {
		priority = "P4"
	}
	refreshed := rec.Refreshed
	if refreshed.IsZero() {
		refreshed = s.seed.Now.UTC().Truncate(24 * time.Hour)
	}
	overview, _ := json.Marshal(map[string]any{"member": rec.Member, "removedRole": rec.Role, "addedRoles": append([]string{}, rec.Replace...),
		"resource": resource, "resourceName": resource, "minimumObservationPeriodInDays": "90"})
	details, _ := json.Marshal(map[string]any{"revokedIamPermissionsCount": 1})
	var insights []*recommender.GoogleCloudRecommenderV1RecommendationInsightReference
	if rec.Insight != "" {
		insights = append(insights, &recommender.GoogleCloudRecommenderV1RecommendationInsightReference{
			Insight: "projects/" + p.Number + "/locations/global/insightTypes/" + PolicyInsightType + "/insights/" + rec.Insight})
	}
	verb := "Remove"
	if len(rec.Replace) > 0 {
		verb = "Replace"
	}
	return &recommender.GoogleCloudRecommenderV1Recommendation{
		Name:               "projects/" + p.Number + "/locations/global/recommenders/" + PolicyRecommender + "/recommendations/" + rec.ID,
		Description:        verb + " the role " + rec.Role + " of " + strings.TrimPrefix(rec.Member, "serviceAccount:") + ".",
		RecommenderSubtype: subtype,
		LastRefreshTime:    ts(refreshed),
		PrimaryImpact: &recommender.GoogleCloudRecommenderV1Impact{Category: "SECURITY",
			SecurityProjection: &recommender.GoogleCloudRecommenderV1SecurityProjection{Details: details}},
		Priority:           priority,
		Content:            &recommender.GoogleCloudRecommenderV1RecommendationContent{OperationGroups: []*recommender.GoogleCloudRecommenderV1OperationGroup{{Operations: ops}}, Overview: overview},
		StateInfo:          &recommender.GoogleCloudRecommenderV1RecommendationStateInfo{State: state},
		Etag:               `"` + rec.ID + `"`,
		AssociatedInsights: insights,
		TargetResources:    []string{resource},
	}
}

func raw(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
