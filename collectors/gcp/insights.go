package gcp

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// policyInsightType is the IAM recommender's insight type for role
// bindings.
const policyInsightType = "google.iam.policy.Insight"

// facetRecommender is the entitlement usage read from policy insights.
var facetRecommender = nhi.EntitlementUsageFacet(nhi.SourceGCPRecommender)

// insight is what one policy insight says of one role binding: the
// permissions the member used over the observation period.
type insight struct {
	exercised  []string
	start, end time.Time
}

// insightKey keys an insight by member ("serviceAccount:…", lower case)
// and role.
func insightKey(member, role string) string { return strings.ToLower(member) + "\x00" + role }

// listInsights reads a project's policy insights (one paged list, within
// the per-project budget of the usage phase): for each service account's
// role binding on the project, the permissions it used over the
// observation period. Insights with a condition are left out (the
// binding's use under it is not told apart).
func (c *Collector) listInsights(ctx context.Context, proj string) (map[string]insight, error) {
	out := map[string]insight{}
	parent := "projects/" + proj + "/locations/global/insightTypes/" + policyInsightType
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.rec.Projects.Locations.InsightTypes.Insights.List(parent).PageSize(1000).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		for _, in := range resp.Insights {
			if in.InsightSubtype != "" && in.InsightSubtype != "PERMISSIONS_USAGE" {
				continue
			}
			var content struct {
				Role      string          `json:"role"`
				Member    string          `json:"member"`
				Condition json.RawMessage `json:"condition"`
				Exercised []struct {
					Permission string `json:"permission"`
				} `json:"exercisedPermissions"`
			}
			if json.Unmarshal(in.Content, &content) != nil || content.Role == "" || !serviceAccountMember(content.Member) {
				continue
			}
			if len(content.Condition) > 0 && string(content.Condition) != "null" {
				continue
			}
			end := parseTime(in.LastRefreshTime)
			period, err := time.ParseDuration(in.ObservationPeriod)
			if end.IsZero() || err != nil || period <= 0 {
				continue // no window: its use cannot be judged
			}
			ins := insight{start: end.Add(-period), end: end}
			for _, p := range content.Exercised {
				ins.exercised = append(ins.exercised, p.Permission)
			}
			slices.Sort(ins.exercised)
			out[insightKey(content.Member, content.Role)] = ins
		}
		return resp.NextPageToken, nil
	})
	return out, err
}

// grantUse is the use of one role binding on a project from its policy
// insight: used (some permission exercised within the observation period;
// the recommender gives no time, so the last use is dated at the period's
// end), never used (none exercised), or unknown (the project's insights
// were not read). A binding the recommender has no insight on has no use
// recorded: no source reported on it.
func (p *project) grantUse(email string, g *nhi.Grant) *nhi.GrantUse {
	if g.Kind != grantKind || g.Scope != "projects/"+p.id || strings.Contains(g.ID, "?condition=") {
		return nil
	}
	u := &nhi.GrantUse{Source: nhi.SourceGCPRecommender, State: nhi.UsageUnknown}
	if p.insights == nil {
		u.Reason = p.recErr
		if u.Reason == "" {
			return nil
		}
		return u
	}
	ins, ok := p.insights[insightKey("serviceAccount:"+email, g.Entitlement)]
	if !ok {
		return nil // the recommender says nothing of this binding
	}
	u.WindowStart, u.WindowEnd, u.Used = ins.start, ins.end, ins.exercised
	if len(ins.exercised) == 0 {
		u.State = nhi.UsageNeverUsed
		return u
	}
	u.State, u.LastUsed = nhi.UsageUsed, ins.end
	u.Reason = "permissions exercised within the observation period; the recommender gives no time, so the last use is its end"
	return u
}
