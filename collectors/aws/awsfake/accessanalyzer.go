package awsfake

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// restAction names the Access Analyzer operation of a restJson1 request:
// GET /analyzer (ListAnalyzers), POST /findingv2 (ListFindingsV2), GET
// /findingv2/{id} (GetFindingV2).
func restAction(r *http.Request) (string, bool) {
	switch {
	case r.URL.Path == "/analyzer" && r.Method == http.MethodGet:
		return "ListAnalyzers", true
	case r.URL.Path == "/findingv2" && r.Method == http.MethodPost:
		return "ListFindingsV2", true
	case strings.HasPrefix(r.URL.Path, "/findingv2/") && r.Method == http.MethodGet:
		return "GetFindingV2", true
	}
	return "", false
}

// analyzerARN is the ARN of an account's unused access analyzer.
func analyzerARN(acct string, an *Analyzer) string {
	return "arn:aws:access-analyzer:us-east-1:" + acct + ":analyzer/" + an.Name
}

func unusedAge(an *Analyzer) int {
	if an.UnusedAccessAge > 0 {
		return an.UnusedAccessAge
	}
	return 90
}

// accessAnalyzer serves the unused access part of IAM Access Analyzer.
func (s *Server) accessAnalyzer(req request) (any, *apiError) {
	a, ok := s.accounts[req.account]
	if !ok {
		return nil, errDenied(req.caller, req.op, "*")
	}
	switch req.action {
	case "ListAnalyzers":
		out := map[string]any{"analyzers": []any{}}
		if an := a.UnusedAnalyzer; an != nil {
			typ := "ACCOUNT_UNUSED_ACCESS"
			if an.Organization {
				typ = "ORGANIZATION_UNUSED_ACCESS"
			}
			if want := req.query.Get("type"); want == "" || want == typ {
				out["analyzers"] = []any{map[string]any{
					"arn": analyzerARN(a.ID, an), "name": an.Name, "type": typ, "status": "ACTIVE",
					"createdAt":     isoTime(a.Joined),
					"configuration": map[string]any{"unusedAccess": map[string]any{"unusedAccessAge": unusedAge(an)}},
				}}
			}
		}
		return out, nil
	case "ListFindingsV2":
		return s.listUnusedFindings(a, req)
	case "GetFindingV2":
		return s.getUnusedFinding(a, req)
	}
	return nil, errInvalid("unknown operation %s", req.action)
}

// unusedFinding is one UnusedPermission finding: a user or role with the
// services its policies allow and it did not use within the analyzer's
// tracking window.
type unusedFinding struct {
	id, resource, resourceType, owner string
	details                           []map[string]any
}

// unusedFindings computes the analyzer's findings over the accounts it
// covers.
func (s *Server) unusedFindings(a *Account) []unusedFinding {
	an := a.UnusedAnalyzer
	if an == nil {
		return nil
	}
	accts := []*Account{a}
	if an.Organization {
		accts = nil
		for _, id := range s.order {
			accts = append(accts, s.accounts[id])
		}
	}
	now := s.now().UTC()
	from := now.AddDate(0, 0, -unusedAge(an))
	var out []unusedFinding
	add := func(acct *Account, kind, arnStr, id string, access []ServiceAccess, docs []string) {
		var details []map[string]any
		for _, ns := range allowedServices(docs) {
			var last time.Time
			for _, sa := range access {
				if sa.Namespace == ns {
					last = sa.LastAuthenticated
				}
			}
			if !last.IsZero() && !last.Before(from) {
				continue
			}
			d := map[string]any{"serviceNamespace": ns}
			if !last.IsZero() {
				d["lastAccessed"] = isoTime(last)
			}
			details = append(details, map[string]any{"unusedPermissionDetails": d})
		}
		if len(details) > 0 {
			out = append(out, unusedFinding{id: "fnd-" + id, resource: arnStr, resourceType: kind, owner: acct.ID, details: details})
		}
	}
	for _, acct := range accts {
		for _, u := range acct.Users {
			docs := s.documents(acct, u.Attached, u.Inline)
			add(acct, "AWS::IAM::User", arn(acct.ID, "user", u.Path, u.Name), u.ID, u.LastAccessed, docs)
		}
		for _, r := range acct.Roles {
			if strings.HasPrefix(r.Path, "/aws-service-role/") {
				continue
			}
			add(acct, "AWS::IAM::Role", arn(acct.ID, "role", r.Path, r.Name), r.ID, r.LastAccessed, s.documents(acct, r.Attached, r.Inline))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func allowedServices(docs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range docs {
		for _, ns := range namespaces(d) {
			if !seen[ns] {
				seen[ns] = true
				out = append(out, ns)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (s *Server) checkAnalyzer(a *Account, arnStr string) *apiError {
	if a.UnusedAnalyzer == nil || arnStr != analyzerARN(a.ID, a.UnusedAnalyzer) {
		return &apiError{http.StatusNotFound, "ResourceNotFoundException", "Analyzer " + arnStr + " not found."}
	}
	return nil
}

// listUnusedFindings answers ListFindingsV2 with the filters the
// collector uses (resource, findingType, status: eq) and paging.
func (s *Server) listUnusedFindings(a *Account, req request) (any, *apiError) {
	arnStr, _ := req.json["analyzerArn"].(string)
	if e := s.checkAnalyzer(a, arnStr); e != nil {
		return nil, e
	}
	filter, _ := req.json["filter"].(map[string]any)
	match := func(key, v string) bool {
		c, ok := filter[key].(map[string]any)
		if !ok {
			return true
		}
		eq, _ := c["eq"].([]any)
		for _, x := range eq {
			if x == v {
				return true
			}
		}
		return len(eq) == 0
	}
	var all []any
	for _, f := range s.unusedFindings(a) {
		if !match("resource", f.resource) || !match("findingType", "UnusedPermission") || !match("status", "ACTIVE") || !match("resourceOwnerAccount", f.owner) {
			continue
		}
		all = append(all, map[string]any{"id": f.id, "resource": f.resource, "resourceType": f.resourceType, "resourceOwnerAccount": f.owner,
			"status": "ACTIVE", "findingType": "UnusedPermission", "analyzedAt": isoTime(s.now()), "createdAt": isoTime(s.now()), "updatedAt": isoTime(s.now())})
	}
	token, _ := req.json["nextToken"].(string)
	start, end, next, e := s.paginate(token, "", len(all))
	if e != nil {
		return nil, e
	}
	out := map[string]any{"findings": all[start:end]}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// getUnusedFinding answers GetFindingV2: the finding with its details,
// one unusedPermissionDetails per unused service.
func (s *Server) getUnusedFinding(a *Account, req request) (any, *apiError) {
	if e := s.checkAnalyzer(a, req.query.Get("analyzerArn")); e != nil {
		return nil, e
	}
	id := strings.TrimPrefix(req.path, "/findingv2/")
	for _, f := range s.unusedFindings(a) {
		if f.id != id {
			continue
		}
		return map[string]any{"id": f.id, "resource": f.resource, "resourceType": f.resourceType, "resourceOwnerAccount": f.owner,
			"status": "ACTIVE", "findingType": "UnusedPermission", "analyzedAt": isoTime(s.now()), "createdAt": isoTime(s.now()),
			"updatedAt": isoTime(s.now()), "findingDetails": f.details}, nil
	}
	return nil, &apiError{http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Finding %s not found.", id)}
}
