package gcp

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	recommender "google.golang.org/api/recommender/v1"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// policyRecommender is the IAM recommender's recommender of role
// recommendations (remove or replace a role binding).
const policyRecommender = "google.iam.policy.Recommender"

// The operation paths and path filters of a role recommendation on a
// project's IAM policy (a role binding's member removed, one added).
const (
	opPathRemove = "/iamPolicy/bindings/*/members/*"
	opPathAdd    = "/iamPolicy/bindings/*/members/-"
	filterRole   = "/iamPolicy/bindings/*/role"
	filterMember = "/iamPolicy/bindings/*/members/*"
	// filterCondition prefixes the binding's condition filters
	// (".../condition/expression": "" for an unconditional binding).
	filterCondition = "/iamPolicy/bindings/*/condition"
	projectResource = "cloudresourcemanager.googleapis.com/Project"
)

// listRecommendations reads a project's ACTIVE role recommendations (one
// paged list, within the per-project budget of the usage phase), keyed by
// member and role like the insights: for each unconditional role binding
// of a service account on the project, remove it or replace it with the
// roles the recommender suggests. Recommendations on a conditional binding
// and ones whose operations do not say which binding they change are left
// out.
func (c *Collector) listRecommendations(ctx context.Context, proj string) (map[string]*nhi.GrantRecommendation, error) {
	out := map[string]*nhi.GrantRecommendation{}
	parent := "projects/" + proj + "/locations/global/recommenders/" + policyRecommender
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.rec.Projects.Locations.Recommenders.Recommendations.List(parent).PageSize(1000).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		for _, r := range resp.Recommendations {
			if r.StateInfo == nil || r.StateInfo.State != "ACTIVE" || r.Content == nil {
				continue
			}
			for key, gr := range bindingRecommendations(r) {
				out[key] = gr
			}
		}
		return resp.NextPageToken, nil
	})
	return out, err
}

// recOp is the part of an operation a role recommendation's binding
// change is read from.
type recOp struct {
	member, role string
	// conditional: the binding has a condition (a condition filter that
	// is not empty).
	conditional bool
}

// readOp reads an operation on a project's IAM policy: the member removed
// (remove) or added (add) and the role; ok is false for any other
// operation.
func readOp(op *recommender.GoogleCloudRecommenderV1Operation) (recOp, string, bool) {
	if op == nil || op.ResourceType != projectResource {
		return recOp{}, "", false
	}
	var filters map[string]json.RawMessage
	if json.Unmarshal(op.PathFilters, &filters) != nil {
		return recOp{}, "", false
	}
	var o recOp
	if json.Unmarshal(filters[filterRole], &o.role) != nil || o.role == "" {
		return recOp{}, "", false
	}
	for k, v := range filters {
		if strings.HasPrefix(k, filterCondition) && !emptyJSON(v) {
			o.conditional = true
		}
	}
	switch {
	case op.Action == "remove" && op.Path == opPathRemove:
		if json.Unmarshal(filters[filterMember], &o.member) != nil {
			return recOp{}, "", false
		}
	case op.Action == "add" && op.Path == opPathAdd:
		o.member, _ = op.Value.(string)
	default:
		return recOp{}, "", false
	}
	return o, op.Action, o.member != ""
}

// emptyJSON: "", {} or null, which a filter on an unconditional binding's
// condition holds.
func emptyJSON(v json.RawMessage) bool {
	switch strings.Join(strings.Fields(string(v)), "") {
	case `""`, "{}", "null":
		return true
	}
	return false
}

// bindingRecommendations reads one recommendation: for each service
// account removed from an unconditional binding in its first operation
// group that removes one, a remove, or a replace with the roles the same
// group adds the member to (a REPLACE_ROLE_CUSTOMIZABLE's other groups are
// alternatives, not read).
func bindingRecommendations(r *recommender.GoogleCloudRecommenderV1Recommendation) map[string]*nhi.GrantRecommendation {
	for _, g := range r.Content.OperationGroups {
		if g == nil {
			continue
		}
		var removed []recOp
		added := map[string][]string{}
		for _, op := range g.Operations {
			o, action, ok := readOp(op)
			switch {
			case !ok || o.conditional || !serviceAccountMember(o.member):
			case action == "remove":
				removed = append(removed, o)
			default:
				added[strings.ToLower(o.member)] = append(added[strings.ToLower(o.member)], o.role)
			}
		}
		if len(removed) == 0 {
			continue
		}
		out := map[string]*nhi.GrantRecommendation{}
		for _, o := range removed {
			gr := &nhi.GrantRecommendation{Source: nhi.SourceGCPRecommender, Action: nhi.RecommendRemove, Subtype: r.RecommenderSubtype,
				Name: r.Name, Priority: r.Priority, AsOf: parseTime(r.LastRefreshTime)}
			if repl := added[strings.ToLower(o.member)]; len(repl) > 0 {
				gr.Action, gr.Replace = nhi.RecommendReplace, slices.Compact(slices.Sorted(slices.Values(repl)))
			}
			out[insightKey(o.member, o.role)] = gr
		}
		return out
	}
	return nil
}

// grantRecommendation is the IAM recommender's active recommendation on
// one unconditional role binding on a project, if the project's
// recommendations were read and it has one.
func (p *project) grantRecommendation(email string, g *nhi.Grant) *nhi.GrantRecommendation {
	if p.recommendations == nil || g.Kind != grantKind || g.Scope != "projects/"+p.id || strings.Contains(g.ID, "?condition=") {
		return nil
	}
	r := p.recommendations[insightKey("serviceAccount:"+email, g.Entitlement)]
	if r == nil {
		return nil
	}
	c := *r
	c.Replace = slices.Clone(r.Replace)
	return &c
}
