package gcpfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	crm "google.golang.org/api/cloudresourcemanager/v3"
)

// policyEtag is a project policy's etag: it changes with every write.
func (s *Server) policyEtag(proj string) string {
	v := s.policyVersion[proj]
	if v == 0 {
		return "BwX="
	}
	return base64.StdEncoding.EncodeToString([]byte("v" + strconv.Itoa(v)))
}

// setProjectPolicy replaces a project's bindings, as
// projects.setIamPolicy does: the request's etag must be the current one
// (else 409 ABORTED, a concurrent change), and a binding's condition is
// kept by its title.
func (s *Server) setProjectPolicy(r *http.Request, proj string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	var req crm.SetIamPolicyRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Policy == nil {
		return nil, &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "a policy is required"}
	}
	if req.Policy.Etag != "" && req.Policy.Etag != s.policyEtag(proj) {
		return nil, &apiError{code: 409, status: "ABORTED", msg: "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."}
	}
	var bs []Binding
	for _, b := range req.Policy.Bindings {
		nb := Binding{Role: b.Role, Members: append([]string(nil), b.Members...)}
		if b.Condition != nil {
			nb.ConditionTitle = b.Condition.Title
		}
		bs = append(bs, nb)
	}
	p.Bindings = bs
	if s.policyVersion == nil {
		s.policyVersion = map[string]int{}
	}
	s.policyVersion[proj]++
	req.Policy.Etag = s.policyEtag(proj)
	return req.Policy, nil
}
