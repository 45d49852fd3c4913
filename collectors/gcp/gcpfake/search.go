package gcpfake

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	cloudasset "google.golang.org/api/cloudasset/v1"
)

// searchQuery is the part of Cloud Asset's query language the fake
// understands: "memberTypes:T" or "memberTypes:(T1 OR T2)", the principal
// types a binding must name (the part of a member before its first ":").
// An empty query matches every binding.
type searchQuery struct {
	memberTypes []string
}

var memberTypesQuery = regexp.MustCompile(`^memberTypes:(\w+|\(\w+( OR \w+)*\))$`)

func parseQuery(q string) (searchQuery, *apiError) {
	q = strings.TrimSpace(q)
	if q == "" {
		return searchQuery{}, nil
	}
	if !memberTypesQuery.MatchString(q) {
		return searchQuery{}, &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "the fake understands memberTypes queries only"}
	}
	v := strings.Trim(strings.TrimPrefix(q, "memberTypes:"), "()")
	return searchQuery{memberTypes: strings.Split(v, " OR ")}, nil
}

// searchOp names a policy search by what it looks for.
func searchOp(r *http.Request) string {
	switch {
	case strings.Contains(r.URL.Query().Get("query"), "principal"):
		return OpSearchPrincipals
	case contains(r.URL.Query()["assetTypes"], "iam.googleapis.com/ServiceAccount"):
		return OpSearchAccountPolicies
	}
	return OpSearchIamPolicies
}

// memberType is the principal type of a member: "user", "group",
// "serviceAccount", "principal", "principalSet", "allUsers" …
func memberType(m string) string {
	if t, _, ok := strings.Cut(m, ":"); ok {
		return t
	}
	return m
}

func (q searchQuery) matches(b Binding) bool {
	if len(q.memberTypes) == 0 {
		return true
	}
	for _, m := range b.Members {
		if contains(q.memberTypes, memberType(m)) {
			return true
		}
	}
	return false
}

// policyJSON is the policy of a search result: the bindings that match
// the query, each with all its members.
func policyJSON(bs []Binding, q searchQuery) *cloudasset.Policy {
	pol := &cloudasset.Policy{}
	for _, b := range bs {
		if !q.matches(b) {
			continue
		}
		cb := &cloudasset.Binding{Role: b.Role, Members: append([]string(nil), b.Members...)}
		if b.ConditionTitle != "" {
			cb.Condition = &cloudasset.Expr{Title: b.ConditionTitle, Expression: "request.time < timestamp(\"2030-01-01T00:00:00Z\")"}
		}
		pol.Bindings = append(pol.Bindings, cb)
	}
	return pol
}

// assetTypeOf names the asset type of a resource that holds bindings.
func assetTypeOf(name string) string {
	switch {
	case strings.HasPrefix(name, "//iam.googleapis.com/") && strings.Contains(name, "/serviceAccounts/"):
		return "iam.googleapis.com/ServiceAccount"
	case strings.HasPrefix(name, "//storage.googleapis.com/"):
		return "storage.googleapis.com/Bucket"
	case strings.HasPrefix(name, "//bigquery.googleapis.com/"):
		return "bigquery.googleapis.com/Dataset"
	case strings.HasPrefix(name, "//secretmanager.googleapis.com/"):
		return "secretmanager.googleapis.com/Secret"
	}
	return "cloudresourcemanager.googleapis.com/Project"
}

// assetTypesFilter matches the assetTypes parameter: each value is an RE2
// expression matched against the whole asset type.
func assetTypesFilter(values []string) (func(string) bool, *apiError) {
	if len(values) == 0 {
		return func(string) bool { return true }, nil
	}
	var res []*regexp.Regexp
	for _, v := range values {
		re, err := regexp.Compile("^(?:" + v + ")$")
		if err != nil {
			return nil, &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "invalid asset type " + v}
		}
		res = append(res, re)
	}
	return func(t string) bool {
		for _, re := range res {
			if re.MatchString(t) {
				return true
			}
		}
		return false
	}, nil
}

func (s *Server) searchIamPolicies(r *http.Request, scope string) (any, *apiError) {
	q, e := parseQuery(r.URL.Query().Get("query"))
	if e != nil {
		return nil, e
	}
	wantType, e := assetTypesFilter(r.URL.Query()["assetTypes"])
	if e != nil {
		return nil, e
	}
	org := "organizations/" + s.seed.Organization
	var results []*cloudasset.IamPolicySearchResult
	add := func(res *cloudasset.IamPolicySearchResult, bs []Binding) {
		if !wantType(res.AssetType) {
			return
		}
		res.Policy = policyJSON(bs, q)
		if len(res.Policy.Bindings) > 0 {
			res.Organization = org
			results = append(results, res)
		}
	}
	if scope == org {
		add(&cloudasset.IamPolicySearchResult{Resource: "//cloudresourcemanager.googleapis.com/" + org,
			AssetType: "cloudresourcemanager.googleapis.com/Organization"}, s.seed.OrgBindings)
	}
	for _, f := range s.seed.Folders {
		anc := s.ancestors("folders/" + f.ID)
		if !contains(anc, scope) {
			continue
		}
		add(&cloudasset.IamPolicySearchResult{Resource: "//cloudresourcemanager.googleapis.com/folders/" + f.ID,
			AssetType: "cloudresourcemanager.googleapis.com/Folder", Folders: anc[:len(anc)-1]}, f.Bindings)
	}
	for i := range s.seed.Projects {
		p := &s.seed.Projects[i]
		if s.under(p, scope) {
			s.searchProject(p, add)
		}
	}
	from, to, next, e := page(r, len(results), s.pageSize(r, 100, 500))
	if e != nil {
		return nil, e
	}
	return &cloudasset.SearchAllIamPoliciesResponse{Results: results[from:to], NextPageToken: next}, nil
}

// searchProject adds the search results of a project: its own policy and
// its resources' policies.
func (s *Server) searchProject(p *Project, add func(*cloudasset.IamPolicySearchResult, []Binding)) {
	folders := []string{}
	for _, a := range s.projectAncestors(p) {
		if strings.HasPrefix(a, "folders/") {
			folders = append(folders, a)
		}
	}
	add(&cloudasset.IamPolicySearchResult{Resource: "//cloudresourcemanager.googleapis.com/projects/" + p.Number,
		AssetType: "cloudresourcemanager.googleapis.com/Project", Project: "projects/" + p.Number, Folders: folders}, p.Bindings)
	names := make([]string, 0, len(p.ResourceBindings))
	for n := range p.ResourceBindings {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(&cloudasset.IamPolicySearchResult{Resource: n, AssetType: assetTypeOf(n), Project: "projects/" + p.Number, Folders: folders}, p.ResourceBindings[n])
	}
}
