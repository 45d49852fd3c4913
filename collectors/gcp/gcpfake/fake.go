package gcpfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	apikeys "google.golang.org/api/apikeys/v2"
	cloudasset "google.golang.org/api/cloudasset/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	iam "google.golang.org/api/iam/v1"
	policyanalyzer "google.golang.org/api/policyanalyzer/v1"

	"github.com/nhiscan/nhiscan/collectors/fakeapi"
)

// API operations, as counted by Calls and named in faults.
const (
	OpListAssets        = "cloudasset.assets.list"
	OpSearchIamPolicies = "cloudasset.searchAllIamPolicies"
	// OpSearchPrincipals is a policy search for workload identity pool
	// principals (a memberTypes query naming principal or principalSet):
	// counted and faulted apart from the other searches.
	OpSearchPrincipals = "cloudasset.searchAllIamPolicies:principals"
	// OpSearchAccountPolicies is a policy search of service accounts' own
	// policies (assetTypes iam.googleapis.com/ServiceAccount).
	OpSearchAccountPolicies = "cloudasset.searchAllIamPolicies:serviceAccounts"
	OpListSAs               = "iam.projects.serviceAccounts.list"
	OpGetSA                 = "iam.projects.serviceAccounts.get"
	OpDisableSA             = "iam.projects.serviceAccounts.disable"
	OpEnableSA              = "iam.projects.serviceAccounts.enable"
	OpListKeys              = "iam.projects.serviceAccounts.keys.list"
	OpGetKey                = "iam.projects.serviceAccounts.keys.get"
	OpDisableKey            = "iam.projects.serviceAccounts.keys.disable"
	OpEnableKey             = "iam.projects.serviceAccounts.keys.enable"
	OpDeleteKey             = "iam.projects.serviceAccounts.keys.delete"
	// OpGetRole reads a custom role of an organisation or a project.
	OpGetRole = "iam.roles.get"
	// OpListPools and OpListProviders list a project's workload identity
	// pools and a pool's providers.
	OpListPools     = "iam.projects.locations.workloadIdentityPools.list"
	OpListProviders = "iam.projects.locations.workloadIdentityPools.providers.list"
	OpQueryActivity = "policyanalyzer.activities.query"
	// OpListInsights lists a project's IAM policy insights (recommender).
	OpListInsights = "recommender.insights.list"
	// OpListRecommendations lists a project's IAM role recommendations
	// (recommender).
	OpListRecommendations = "recommender.recommendations.list"
	OpListAPIKeys         = "apikeys.keys.list"
	// OpListHMACKeys lists a project's Cloud Storage HMAC keys.
	OpListHMACKeys       = "storage.projects.hmacKeys.list"
	OpGetProject         = "cloudresourcemanager.projects.get"
	OpListProjects       = "cloudresourcemanager.projects.list"
	OpListFolders        = "cloudresourcemanager.folders.list"
	OpGetProjectIamPolic = "cloudresourcemanager.projects.getIamPolicy"
	OpSetProjectIamPolic = "cloudresourcemanager.projects.setIamPolicy"
)

var permissionFor = map[string]string{
	OpListAssets:            "cloudasset.assets.listResource",
	OpSearchIamPolicies:     "cloudasset.assets.searchAllIamPolicies",
	OpSearchPrincipals:      "cloudasset.assets.searchAllIamPolicies",
	OpSearchAccountPolicies: "cloudasset.assets.searchAllIamPolicies",
	OpListSAs:               "iam.serviceAccounts.list",
	OpGetSA:                 "iam.serviceAccounts.get",
	OpDisableSA:             "iam.serviceAccounts.disable",
	OpEnableSA:              "iam.serviceAccounts.enable",
	OpListKeys:              "iam.serviceAccountKeys.list",
	OpGetKey:                "iam.serviceAccountKeys.get",
	OpDisableKey:            "iam.serviceAccountKeys.disable",
	OpEnableKey:             "iam.serviceAccountKeys.enable",
	OpDeleteKey:             "iam.serviceAccountKeys.delete",
	OpGetRole:               "iam.roles.get",
	OpListPools:             "iam.workloadIdentityPools.list",
	OpListProviders:         "iam.workloadIdentityPoolProviders.list",
	OpQueryActivity:         "policyanalyzer.serviceAccountLastAuthenticationActivities.query",
	OpListAPIKeys:           "apikeys.keys.list",
	OpListInsights:          "recommender.iamPolicyInsights.list",
	OpListRecommendations:   "recommender.iamPolicyRecommendations.list",
	OpListHMACKeys:          "storage.hmacKeys.list",
	OpGetProject:            "resourcemanager.projects.get",
	OpSetProjectIamPolic:    "resourcemanager.projects.setIamPolicy",
	OpListProjects:          "resourcemanager.projects.list",
	OpListFolders:           "resourcemanager.folders.list",
	OpGetProjectIamPolic:    "resourcemanager.projects.getIamPolicy",
}

// Server is a running fake. It embeds fakeapi.Counter (Calls, CallCount,
// TotalCalls, ResetCalls) and fakeapi.Faults (Deny, DenyAfter, Throttle,
// Fail, Timeout, Random, Injected): a fault's scope is a project id,
// "organizations/N" or "folders/N" ("" matches every scope), its operation
// one of the Op constants ("" matches every operation).
type Server struct {
	// Endpoint serves the fake; point every Google API client at URL + "/".
	fakeapi.Endpoint

	mu   sync.Mutex
	seed Seed
	fakeapi.Counter
	fakeapi.Faults
	disabledAPI map[string]bool
	sendSecrets bool
	// errorEcho is planted in every error answer (SetErrorEcho).
	errorEcho string
	// assetKeyFields: how asset data renders a key's state.
	assetKeyFields AssetKeyFields
	// token endpoint state (token.go)
	tokens tokenEndpoint
	// policyVersion counts each project's setIamPolicy writes (its etag).
	policyVersion map[string]int
}

// New starts a fake serving a copy of seed.
func New(seed Seed) *Server {
	s := &Server{
		seed:        cloneSeed(seed),
		disabledAPI: map[string]bool{},
	}
	for i := range s.seed.Projects {
		p := &s.seed.Projects[i]
		for j := range p.ServiceAccounts {
			sa := &p.ServiceAccounts[j]
			if sa.Email == "" {
				sa.Email = sa.AccountID + "@" + p.ID + ".iam.gserviceaccount.com"
			}
		}
	}
	s.Start(http.HandlerFunc(s.serve), false)
	return s
}

// DisableService makes every call to an API ("cloudasset", "iam",
// "policyanalyzer", "apikeys", "cloudresourcemanager") fail with 403
// SERVICE_DISABLED, as when the API is not enabled in the quota project.
func (s *Server) DisableService(api string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabledAPI[api] = true
}

// SendSecrets makes every response that describes a key carry its secret
// value too (privateKeyData, keyString), which the real list and get calls
// never do, so that tests can prove the collector drops what it is sent.
func (s *Server) SendSecrets(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendSecrets = on
}

// Secrets returns every secret value the fake holds (key material and API
// key strings); none may appear in an inventory.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.seed.Projects {
		for _, sa := range p.ServiceAccounts {
			for _, k := range sa.Keys {
				if k.PrivateKeyData != "" {
					out = append(out, k.PrivateKeyData)
				}
			}
		}
		for _, k := range p.APIKeys {
			if k.KeyString != "" {
				out = append(out, k.KeyString)
			}
		}
		for _, k := range p.HMACKeys {
			if k.Secret != "" {
				out = append(out, k.Secret)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ServiceAccount returns the current state of a service account by email
// or unique id.
func (s *Server) ServiceAccount(id string) (ServiceAccount, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, sa := s.findSA("-", id)
	if sa == nil {
		return ServiceAccount{}, false
	}
	return *sa, true
}

// Key returns the current state of a key of a service account.
func (s *Server) Key(saID, keyID string) (Key, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, sa := s.findSA("-", saID)
	if sa == nil {
		return Key{}, false
	}
	for _, k := range sa.Keys {
		if k.ID == keyID {
			return k, true
		}
	}
	return Key{}, false
}

// Mutate runs f on the fake's seed under its lock, for tests that change
// the organisation between scans.
func (s *Server) Mutate(f func(*Seed)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.seed)
}

type apiError struct {
	// echo, when set, is repeated in the message and in a DebugInfo
	// detail, as Google repeats parts of a request in its errors.
	echo       string
	code       int
	status     string
	reason     string
	msg        string
	perm       string
	retryAfter string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == tokenPath {
		s.serveToken(w, r)
		return
	}
	s.mu.Lock()
	echo := s.errorEcho
	s.mu.Unlock()
	writeErr := func(w http.ResponseWriter, e apiError) { e.echo = echo; writeErr(w, e) }
	op, scope, api, h := s.route(r, path)
	if h == nil {
		writeErr(w, apiError{code: 404, status: "NOT_FOUND", msg: "unknown path " + r.Method + " " + path})
		return
	}
	s.Count(op)
	s.mu.Lock()
	disabled := s.disabledAPI[api]
	s.mu.Unlock()
	if !s.Delay(r.Context()) {
		return
	}
	if disabled {
		writeErr(w, apiError{code: 403, status: "PERMISSION_DENIED", reason: "SERVICE_DISABLED",
			msg: api + ".googleapis.com has not been used in the quota project before or it is disabled"})
		return
	}
	if f, ok := s.Inject(scope, op); ok {
		if f.Kind == fakeapi.FaultTimeout && !s.Hang(r.Context()) {
			return
		}
		writeErr(w, faultError(f, op, scope))
		return
	}
	s.mu.Lock()
	body, ae := h(r)
	s.mu.Unlock()
	if ae != nil {
		writeErr(w, *ae)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(body)
}

// googleStatus is the status Google's error JSON names for an HTTP code.
var googleStatus = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ABORTED",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

// faultError renders an injected fault as Google answers it.
func faultError(f fakeapi.Fault, op, scope string) apiError {
	switch f.Kind {
	case fakeapi.FaultDenied:
		perm := permissionFor[op]
		return apiError{code: 403, status: "PERMISSION_DENIED", reason: "IAM_PERMISSION_DENIED", perm: perm,
			msg: fmt.Sprintf("Permission '%s' denied on resource '%s' (or it may not exist).", perm, scope)}
	case fakeapi.FaultThrottled:
		return apiError{code: 429, status: "RESOURCE_EXHAUSTED", reason: "RATE_LIMIT_EXCEEDED", retryAfter: "1",
			msg: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'."}
	case fakeapi.FaultTimeout:
		return apiError{code: 504, status: "DEADLINE_EXCEEDED", msg: "The request was aborted because it exceeded its deadline."}
	}
	code := f.Status
	if code == 0 {
		code = http.StatusInternalServerError
	}
	status, ok := googleStatus[code]
	if !ok {
		status = "UNKNOWN"
	}
	msg := "Internal error encountered."
	if code != http.StatusInternalServerError {
		msg = http.StatusText(code)
	}
	return apiError{code: code, status: status, msg: msg}
}

func writeErr(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	w.WriteHeader(e.code)
	details := []any{}
	if e.echo != "" {
		e.msg += " (request: " + e.echo + ")"
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.DebugInfo", "detail": "request " + e.echo})
	}
	if e.reason != "" {
		md := map[string]string{}
		if e.perm != "" {
			md["permission"] = e.perm
		}
		details = append(details, map[string]any{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": e.reason,
			"domain": "googleapis.com", "metadata": md,
		})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": e.code, "message": e.msg, "status": e.status, "details": details,
	}})
}

type handler func(r *http.Request) (any, *apiError)

// route maps a request to its operation, scope, API and handler.
func (s *Server) route(r *http.Request, path string) (op, scope, api string, h handler) {
	method := r.Method
	seg := strings.Split(path, "/")
	if len(seg) < 2 {
		return "", "", "", nil
	}
	last := seg[len(seg)-1]
	verb := ""
	if i := strings.LastIndex(last, ":"); i >= 0 {
		verb = last[i+1:]
		seg[len(seg)-1] = last[:i]
	}
	ver, rest := seg[0], seg[1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ver == "storage" && len(rest) == 4 && rest[0] == "v1" && rest[1] == "projects" && rest[3] == "hmacKeys" && method == http.MethodGet:
		p := rest[2]
		return OpListHMACKeys, s.scopeOf("projects/" + p), "storage", func(r *http.Request) (any, *apiError) { return s.listHMACKeys(r, p) }
	case ver == "v1" && verb == "searchAllIamPolicies" && len(rest) == 2:
		parent := rest[0] + "/" + rest[1]
		return searchOp(r), s.scopeOf(parent), "cloudasset", func(r *http.Request) (any, *apiError) { return s.searchIamPolicies(r, parent) }
	case ver == "v1" && len(rest) == 3 && rest[2] == "assets" && method == http.MethodGet:
		parent := rest[0] + "/" + rest[1]
		return OpListAssets, s.scopeOf(parent), "cloudasset", func(r *http.Request) (any, *apiError) { return s.listAssets(r, parent) }
	case ver == "v1" && len(rest) == 7 && rest[0] == "projects" && rest[2] == "locations" && rest[4] == "activityTypes" && rest[6] == "activities" && verb == "query":
		p, t := rest[1], rest[5]
		return OpQueryActivity, s.scopeOf("projects/" + p), "policyanalyzer", func(r *http.Request) (any, *apiError) { return s.queryActivity(r, p, t) }
	case ver == "v1" && len(rest) == 7 && rest[0] == "projects" && rest[2] == "locations" && rest[4] == "insightTypes" && rest[6] == "insights" && method == http.MethodGet:
		p, typ := rest[1], rest[5]
		return OpListInsights, s.scopeOf("projects/" + p), "recommender", func(r *http.Request) (any, *apiError) { return s.listInsights(r, p, rest[3], typ) }
	case ver == "v1" && len(rest) == 7 && rest[0] == "projects" && rest[2] == "locations" && rest[4] == "recommenders" && rest[6] == "recommendations" && method == http.MethodGet:
		p, typ := rest[1], rest[5]
		return OpListRecommendations, s.scopeOf("projects/" + p), "recommender", func(r *http.Request) (any, *apiError) {
			return s.listRecommendations(r, p, rest[3], typ)
		}
	case ver == "v1" && len(rest) == 4 && (rest[0] == "projects" || rest[0] == "organizations") && rest[2] == "roles" && method == http.MethodGet:
		name := strings.Join(rest, "/")
		return OpGetRole, s.scopeOf(rest[0] + "/" + rest[1]), "iam", func(*http.Request) (any, *apiError) { return s.getRole(name) }
	case ver == "v1" && len(rest) == 5 && rest[0] == "projects" && rest[2] == "locations" && rest[4] == "workloadIdentityPools" && method == http.MethodGet:
		p := rest[1]
		return OpListPools, s.scopeOf("projects/" + p), "iam", func(r *http.Request) (any, *apiError) { return s.listPools(r, p) }
	case ver == "v1" && len(rest) == 7 && rest[0] == "projects" && rest[4] == "workloadIdentityPools" && rest[6] == "providers" && method == http.MethodGet:
		p, pool := rest[1], rest[5]
		return OpListProviders, s.scopeOf("projects/" + p), "iam", func(r *http.Request) (any, *apiError) { return s.listProviders(r, p, pool) }
	case ver == "v1" && len(rest) >= 3 && rest[0] == "projects" && rest[2] == "serviceAccounts":
		return s.routeIAM(method, verb, rest)
	case ver == "v2" && len(rest) == 5 && rest[0] == "projects" && rest[4] == "keys":
		p := rest[1]
		return OpListAPIKeys, s.scopeOf("projects/" + p), "apikeys", func(r *http.Request) (any, *apiError) { return s.listAPIKeys(r, p) }
	case ver == "v3" && len(rest) == 1 && rest[0] == "projects":
		return OpListProjects, s.scopeOf(r.URL.Query().Get("parent")), "cloudresourcemanager", s.listProjects
	case ver == "v3" && len(rest) == 1 && rest[0] == "folders":
		return OpListFolders, s.scopeOf(r.URL.Query().Get("parent")), "cloudresourcemanager", s.listFolders
	case ver == "v3" && len(rest) == 2 && rest[0] == "projects" && verb == "setIamPolicy" && method == http.MethodPost:
		p := rest[1]
		return OpSetProjectIamPolic, s.scopeOf("projects/" + p), "cloudresourcemanager", func(r *http.Request) (any, *apiError) { return s.setProjectPolicy(r, p) }
	case ver == "v3" && len(rest) == 2 && rest[0] == "projects" && verb == "getIamPolicy":
		p := rest[1]
		return OpGetProjectIamPolic, s.scopeOf("projects/" + p), "cloudresourcemanager", func(*http.Request) (any, *apiError) { return s.projectPolicy(p) }
	case ver == "v3" && len(rest) == 2 && rest[0] == "projects" && verb == "":
		p := rest[1]
		return OpGetProject, s.scopeOf("projects/" + p), "cloudresourcemanager", func(*http.Request) (any, *apiError) { return s.getProject(p) }
	}
	return "", "", "", nil
}

func (s *Server) routeIAM(method, verb string, rest []string) (string, string, string, handler) {
	p := rest[1]
	const api = "iam"
	switch len(rest) {
	case 3:
		return OpListSAs, s.scopeOf("projects/" + p), api, func(r *http.Request) (any, *apiError) { return s.listSAs(r, p) }
	case 4:
		proj, _ := s.findSA(p, rest[3])
		scope := s.scopeOf("projects/" + p)
		if proj != nil {
			scope = proj.ID
		}
		op := map[string]string{"": OpGetSA, "disable": OpDisableSA, "enable": OpEnableSA}[verb]
		if op == "" {
			return "", "", "", nil
		}
		return op, scope, api, func(*http.Request) (any, *apiError) {
			proj, sa := s.findSA(p, rest[3])
			if sa == nil {
				return nil, iamNotFound(p, "projects/"+p+"/serviceAccounts/"+rest[3])
			}
			switch verb {
			case "disable":
				sa.Disabled = true
				return struct{}{}, nil
			case "enable":
				sa.Disabled = false
				return struct{}{}, nil
			}
			return saJSON(proj, sa), nil
		}
	case 5:
		if rest[4] != "keys" || method != http.MethodGet {
			return "", "", "", nil
		}
		proj, _ := s.findSA(p, rest[3])
		scope := s.scopeOf("projects/" + p)
		if proj != nil {
			scope = proj.ID
		}
		return OpListKeys, scope, api, func(r *http.Request) (any, *apiError) {
			proj, sa := s.findSA(p, rest[3])
			if sa == nil {
				return nil, iamNotFound(p, "projects/"+p+"/serviceAccounts/"+rest[3])
			}
			types := r.URL.Query()["keyTypes"]
			out := &iam.ListServiceAccountKeysResponse{Keys: []*iam.ServiceAccountKey{}}
			for i := range sa.Keys {
				if len(types) > 0 && !contains(types, sa.Keys[i].Type) {
					continue
				}
				out.Keys = append(out.Keys, keyJSON(proj, sa, &sa.Keys[i], s.sendSecrets))
			}
			return out, nil
		}
	case 6:
		if rest[4] != "keys" {
			return "", "", "", nil
		}
		proj, _ := s.findSA(p, rest[3])
		scope := s.scopeOf("projects/" + p)
		if proj != nil {
			scope = proj.ID
		}
		var op string
		switch {
		case method == http.MethodGet && verb == "":
			op = OpGetKey
		case method == http.MethodDelete && verb == "":
			op = OpDeleteKey
		case method == http.MethodPost && verb == "disable":
			op = OpDisableKey
		case method == http.MethodPost && verb == "enable":
			op = OpEnableKey
		default:
			return "", "", "", nil
		}
		return op, scope, api, func(*http.Request) (any, *apiError) {
			proj, sa := s.findSA(p, rest[3])
			if sa == nil {
				return nil, iamNotFound(p, "projects/"+p+"/serviceAccounts/"+rest[3])
			}
			for i := range sa.Keys {
				k := &sa.Keys[i]
				if k.ID != rest[5] {
					continue
				}
				switch op {
				case OpDeleteKey:
					sa.Keys = append(sa.Keys[:i:i], sa.Keys[i+1:]...)
					return struct{}{}, nil
				case OpDisableKey, OpEnableKey:
					if k.Type == SystemManaged {
						return nil, &apiError{code: 400, status: "FAILED_PRECONDITION", msg: "system-managed keys cannot be disabled or enabled"}
					}
					k.Disabled = op == OpDisableKey
					if k.Disabled {
						k.DisableReason = ReasonUser
					} else {
						k.DisableReason = ""
					}
					return struct{}{}, nil
				}
				return keyJSON(proj, sa, k, s.sendSecrets), nil
			}
			return nil, iamNotFound(p, "projects/"+p+"/serviceAccounts/"+rest[3]+"/keys/"+rest[5])
		}
	}
	return "", "", "", nil
}

// iamNotFound is IAM's answer for a missing account or key: 404, except
// that a name with the "-" project wildcard gets 403, as the IAM reference
// documents ("the response contains an HTTP 403 Forbidden error instead of
// a 404 Not Found error").
func iamNotFound(project, name string) *apiError {
	if project == "-" {
		return &apiError{code: 403, status: "PERMISSION_DENIED", reason: "IAM_PERMISSION_DENIED",
			msg: fmt.Sprintf("Permission denied on resource '%s' (or it may not exist).", name)}
	}
	return notFound(name)
}

func notFound(what string) *apiError {
	return &apiError{code: 404, status: "NOT_FOUND", msg: what + " not found"}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// scopeOf maps a resource name to the injection scope: the project id for
// projects (by id or number), the name itself for folders and the org.
func (s *Server) scopeOf(name string) string {
	if id, ok := strings.CutPrefix(name, "projects/"); ok {
		if p := s.project(id); p != nil {
			return p.ID
		}
		return id
	}
	return name
}

func (s *Server) project(idOrNumber string) *Project {
	for i := range s.seed.Projects {
		p := &s.seed.Projects[i]
		if p.ID == idOrNumber || p.Number == idOrNumber {
			return p
		}
	}
	return nil
}

// findSA resolves a service account by email or unique id; project "-"
// searches every project.
func (s *Server) findSA(project, id string) (*Project, *ServiceAccount) {
	for i := range s.seed.Projects {
		p := &s.seed.Projects[i]
		if project != "-" && p.ID != project && p.Number != project {
			continue
		}
		for j := range p.ServiceAccounts {
			sa := &p.ServiceAccounts[j]
			if sa.Email == id || sa.UniqueID == id {
				return p, sa
			}
		}
	}
	return nil, nil
}

// ancestors returns the resource-manager ancestors of a parent, nearest
// first, ending with the organisation.
func (s *Server) ancestors(parent string) []string {
	var out []string
	for parent != "" {
		out = append(out, parent)
		id, ok := strings.CutPrefix(parent, "folders/")
		if !ok {
			break
		}
		next := ""
		for _, f := range s.seed.Folders {
			if f.ID == id {
				next = f.Parent
			}
		}
		parent = next
	}
	return out
}

// under reports whether project p lies under parent.
func (s *Server) under(p *Project, parent string) bool {
	if parent == "projects/"+p.ID || parent == "projects/"+p.Number {
		return true
	}
	return contains(s.ancestors(p.Parent), parent)
}

func (s *Server) pageSize(r *http.Request, def, max int) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
	if n <= 0 {
		n = def
	}
	if n > max {
		n = max
	}
	if c := s.PageSize(); c > 0 && n > c {
		n = c
	}
	return n
}

// page returns the bounds of the page a request asks for and the next
// token.
func page(r *http.Request, total, size int) (from, to int, next string, e *apiError) {
	if t := r.URL.Query().Get("pageToken"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "o"))
		if err != nil || n < 0 || n > total {
			return 0, 0, "", &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "invalid page token"}
		}
		from = n
	}
	to = min(from+size, total)
	if to < total {
		next = "o" + strconv.Itoa(to)
	}
	return from, to, next, nil
}

// pacificDay is how Activity Analyzer reports a last authentication: the
// start of its day in Pacific time ("2021-04-05T07:00:00Z" in Google's
// example). The fake uses standard time, UTC-8, all year.
func pacificDay(t time.Time) time.Time {
	p := t.UTC().Add(-8 * time.Hour)
	return time.Date(p.Year(), p.Month(), p.Day(), 8, 0, 0, 0, time.UTC)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func saJSON(p *Project, sa *ServiceAccount) *iam.ServiceAccount {
	return &iam.ServiceAccount{
		Name:           "projects/" + p.ID + "/serviceAccounts/" + sa.Email,
		ProjectId:      p.ID,
		UniqueId:       sa.UniqueID,
		Email:          sa.Email,
		DisplayName:    sa.DisplayName,
		Description:    sa.Description,
		Oauth2ClientId: sa.OAuth2ClientID,
		Disabled:       sa.Disabled,
		Etag:           "BwY=",
	}
}

func keyJSON(p *Project, sa *ServiceAccount, k *Key, secrets bool) *iam.ServiceAccountKey {
	vb := k.ValidBefore
	if vb.IsZero() {
		vb = FarFuture
	}
	origin := k.Origin
	if origin == "" {
		origin = "GOOGLE_PROVIDED"
	}
	out := &iam.ServiceAccountKey{
		Name:            "projects/" + p.ID + "/serviceAccounts/" + sa.Email + "/keys/" + k.ID,
		KeyType:         k.Type,
		KeyOrigin:       origin,
		KeyAlgorithm:    "KEY_ALG_RSA_2048",
		ValidAfterTime:  ts(k.ValidAfter),
		ValidBeforeTime: ts(vb),
		Disabled:        k.Disabled,
		DisableReason:   k.DisableReason,
	}
	if secrets {
		out.PrivateKeyData = k.PrivateKeyData
	}
	keys := make([]string, 0, len(k.ExtendedStatus))
	for key := range k.ExtendedStatus {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		out.ExtendedStatus = append(out.ExtendedStatus, &iam.ExtendedStatus{Key: key, Value: k.ExtendedStatus[key]})
	}
	return out
}

func (s *Server) listSAs(r *http.Request, proj string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	from, to, next, e := page(r, len(p.ServiceAccounts), s.pageSize(r, 20, 100))
	if e != nil {
		return nil, e
	}
	out := &iam.ListServiceAccountsResponse{NextPageToken: next, Accounts: []*iam.ServiceAccount{}}
	for i := from; i < to; i++ {
		out.Accounts = append(out.Accounts, saJSON(p, &p.ServiceAccounts[i]))
	}
	return out, nil
}

const (
	typeSA      = "iam.googleapis.com/ServiceAccount"
	typeKey     = "iam.googleapis.com/ServiceAccountKey"
	typeProject = "cloudresourcemanager.googleapis.com/Project"
)

func (s *Server) projectAncestors(p *Project) []string {
	return append([]string{"projects/" + p.Number}, s.ancestors(p.Parent)...)
}

func (s *Server) listAssets(r *http.Request, parent string) (any, *apiError) {
	q := r.URL.Query()
	types := q["assetTypes"]
	want := func(t string) bool { return len(types) == 0 || contains(types, t) }
	if ct := q.Get("contentType"); ct != "" && ct != "RESOURCE" {
		return nil, &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "the fake serves contentType RESOURCE only"}
	}
	// Count first so that only one page is materialised.
	type ref struct {
		p  *Project
		sa *ServiceAccount
		k  *Key
	}
	var refs []ref
	for i := range s.seed.Projects {
		p := &s.seed.Projects[i]
		if !s.under(p, parent) {
			continue
		}
		if want(typeProject) {
			refs = append(refs, ref{p: p})
		}
		for j := range p.ServiceAccounts {
			sa := &p.ServiceAccounts[j]
			if want(typeSA) {
				refs = append(refs, ref{p: p, sa: sa})
			}
			if want(typeKey) {
				for k := range sa.Keys {
					refs = append(refs, ref{p: p, sa: sa, k: &sa.Keys[k]})
				}
			}
		}
	}
	if len(refs) == 0 && !strings.HasPrefix(parent, "organizations/") && !strings.HasPrefix(parent, "folders/") && s.project(strings.TrimPrefix(parent, "projects/")) == nil {
		return nil, notFound(parent)
	}
	from, to, next, e := page(r, len(refs), s.pageSize(r, 100, 1000))
	if e != nil {
		return nil, e
	}
	out := &cloudasset.ListAssetsResponse{NextPageToken: next, ReadTime: ts(s.seed.Now), Assets: []*cloudasset.Asset{}}
	for _, rf := range refs[from:to] {
		p := rf.p
		anc := s.projectAncestors(p)
		projFull := "//cloudresourcemanager.googleapis.com/projects/" + p.Number
		var a *cloudasset.Asset
		switch {
		case rf.sa == nil:
			pt, pid := "organization", strings.TrimPrefix(p.Parent, "organizations/")
			if f, ok := strings.CutPrefix(p.Parent, "folders/"); ok {
				pt, pid = "folder", f
			}
			data, _ := json.Marshal(map[string]any{
				"projectNumber": p.Number, "projectId": p.ID, "lifecycleState": "ACTIVE", "name": p.Name,
				"labels": p.Labels, "parent": map[string]string{"type": pt, "id": pid},
			})
			a = &cloudasset.Asset{Name: projFull, AssetType: typeProject, Ancestors: anc, Resource: &cloudasset.Resource{
				Version: "v1", DiscoveryName: "Project", Data: data,
				DiscoveryDocumentUri: "https://cloudresourcemanager.googleapis.com/$discovery/rest?version=v1",
				Parent:               "//cloudresourcemanager.googleapis.com/" + p.Parent,
			}}
		case rf.k == nil:
			data, _ := json.Marshal(saJSON(p, rf.sa))
			a = &cloudasset.Asset{Name: "//iam.googleapis.com/projects/" + p.ID + "/serviceAccounts/" + rf.sa.UniqueID,
				AssetType: typeSA, Ancestors: anc, Resource: &cloudasset.Resource{
					Version: "v1", DiscoveryName: "ServiceAccount", Data: data, Parent: projFull,
					DiscoveryDocumentUri: "https://iam.googleapis.com/$discovery/rest",
				}}
		default:
			data := assetKeyData(keyJSON(p, rf.sa, rf.k, s.sendSecrets), s.assetKeyFields)
			saFull := "//iam.googleapis.com/projects/" + p.ID + "/serviceAccounts/" + rf.sa.UniqueID
			a = &cloudasset.Asset{Name: saFull + "/keys/" + rf.k.ID, AssetType: typeKey, Ancestors: anc,
				Resource: &cloudasset.Resource{
					Version: "v1", DiscoveryName: "ServiceAccountKey", Data: data, Parent: saFull,
					DiscoveryDocumentUri: "https://iam.googleapis.com/$discovery/rest",
				}}
		}
		a.UpdateTime = ts(s.seed.Now)
		out.Assets = append(out.Assets, a)
	}
	return out, nil
}

func (s *Server) queryActivity(r *http.Request, proj, typ string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	if typ != "serviceAccountLastAuthentication" && typ != "serviceAccountKeyLastAuthentication" {
		return nil, &apiError{code: 400, status: "INVALID_ARGUMENT", msg: "unsupported activity type " + typ}
	}
	end := s.seed.Now.UTC().Truncate(24 * time.Hour)
	period := &policyanalyzer.GoogleCloudPolicyanalyzerV1ObservationPeriod{StartTime: ts(s.seed.ObservationStart), EndTime: ts(end)}
	var acts []*policyanalyzer.GoogleCloudPolicyanalyzerV1Activity
	for i := range p.ServiceAccounts {
		sa := &p.ServiceAccounts[i]
		saFull := "//iam.googleapis.com/projects/" + p.ID + "/serviceAccounts/" + sa.Email
		if typ == "serviceAccountLastAuthentication" {
			if sa.LastAuth.IsZero() {
				continue
			}
			raw, _ := json.Marshal(map[string]any{
				"lastAuthenticatedTime": ts(pacificDay(sa.LastAuth)),
				"serviceAccount":        map[string]string{"fullResourceName": saFull, "projectNumber": p.Number, "serviceAccountId": sa.UniqueID},
			})
			acts = append(acts, &policyanalyzer.GoogleCloudPolicyanalyzerV1Activity{ActivityType: typ, FullResourceName: saFull, ObservationPeriod: period, Activity: raw})
			continue
		}
		for _, k := range sa.Keys {
			if k.LastAuth.IsZero() {
				continue
			}
			kFull := saFull + "/keys/" + k.ID
			raw, _ := json.Marshal(map[string]any{
				"lastAuthenticatedTime": ts(pacificDay(k.LastAuth)),
				"serviceAccountKey":     map[string]string{"fullResourceName": kFull, "projectNumber": p.Number, "serviceAccountId": sa.UniqueID},
			})
			acts = append(acts, &policyanalyzer.GoogleCloudPolicyanalyzerV1Activity{ActivityType: typ, FullResourceName: kFull, ObservationPeriod: period, Activity: raw})
		}
	}
	from, to, next, e := page(r, len(acts), s.pageSize(r, 1000, 1000))
	if e != nil {
		return nil, e
	}
	return &policyanalyzer.GoogleCloudPolicyanalyzerV1QueryActivityResponse{Activities: acts[from:to], NextPageToken: next}, nil
}

func (s *Server) listAPIKeys(r *http.Request, proj string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	from, to, next, e := page(r, len(p.APIKeys), s.pageSize(r, 300, 300))
	if e != nil {
		return nil, e
	}
	out := &apikeys.V2ListKeysResponse{NextPageToken: next, Keys: []*apikeys.V2Key{}}
	for _, k := range p.APIKeys[from:to] {
		ks := ""
		if s.sendSecrets {
			ks = k.KeyString
		}
		out.Keys = append(out.Keys, &apikeys.V2Key{KeyString: ks,
			Name: "projects/" + p.Number + "/locations/global/keys/" + k.UID, Uid: k.UID, DisplayName: k.DisplayName,
			CreateTime: ts(k.Created), UpdateTime: ts(k.Created), ServiceAccountEmail: k.ServiceAccountEmail, Etag: "W/\"1\"",
		})
	}
	return out, nil
}

func crmProject(p *Project) *crm.Project {
	return &crm.Project{Name: "projects/" + p.Number, ProjectId: p.ID, DisplayName: p.Name, Parent: p.Parent, Labels: p.Labels, State: "ACTIVE"}
}

func (s *Server) getProject(proj string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, &apiError{code: 403, status: "PERMISSION_DENIED", msg: "project " + proj + " not found or permission denied"}
	}
	return crmProject(p), nil
}

func (s *Server) listProjects(r *http.Request) (any, *apiError) {
	parent := r.URL.Query().Get("parent")
	var ps []*crm.Project
	for i := range s.seed.Projects {
		if s.seed.Projects[i].Parent == parent {
			ps = append(ps, crmProject(&s.seed.Projects[i]))
		}
	}
	from, to, next, e := page(r, len(ps), s.pageSize(r, 500, 1000))
	if e != nil {
		return nil, e
	}
	return &crm.ListProjectsResponse{Projects: ps[from:to], NextPageToken: next}, nil
}

func (s *Server) listFolders(r *http.Request) (any, *apiError) {
	parent := r.URL.Query().Get("parent")
	var fs []*crm.Folder
	for _, f := range s.seed.Folders {
		if f.Parent == parent {
			fs = append(fs, &crm.Folder{Name: "folders/" + f.ID, DisplayName: f.DisplayName, Parent: f.Parent, State: "ACTIVE"})
		}
	}
	from, to, next, e := page(r, len(fs), s.pageSize(r, 100, 1000))
	if e != nil {
		return nil, e
	}
	return &crm.ListFoldersResponse{Folders: fs[from:to], NextPageToken: next}, nil
}

func (s *Server) projectPolicy(proj string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	pol := &crm.Policy{Version: 3, Etag: s.policyEtag(proj)}
	for _, b := range p.Bindings {
		cb := &crm.Binding{Role: b.Role, Members: append([]string(nil), b.Members...)}
		if b.ConditionTitle != "" {
			cb.Condition = &crm.Expr{Title: b.ConditionTitle, Expression: "request.time < timestamp(\"2030-01-01T00:00:00Z\")"}
		}
		pol.Bindings = append(pol.Bindings, cb)
	}
	return pol, nil
}

func cloneSeed(in Seed) Seed {
	out := in
	out.OrgBindings = cloneBindings(in.OrgBindings)
	out.CustomRoles = append([]CustomRole(nil), in.CustomRoles...)
	for i := range out.CustomRoles {
		out.CustomRoles[i].Permissions = append([]string(nil), out.CustomRoles[i].Permissions...)
	}
	out.Folders = append([]Folder(nil), in.Folders...)
	for i := range out.Folders {
		out.Folders[i].Bindings = cloneBindings(out.Folders[i].Bindings)
	}
	out.Projects = append([]Project(nil), in.Projects...)
	for i := range out.Projects {
		p := &out.Projects[i]
		p.Bindings = cloneBindings(p.Bindings)
		if p.Labels != nil {
			l := make(map[string]string, len(p.Labels))
			for k, v := range p.Labels {
				l[k] = v
			}
			p.Labels = l
		}
		if p.ResourceBindings != nil {
			rb := make(map[string][]Binding, len(p.ResourceBindings))
			for k, v := range p.ResourceBindings {
				rb[k] = cloneBindings(v)
			}
			p.ResourceBindings = rb
		}
		p.APIKeys = append([]APIKey(nil), p.APIKeys...)
		p.HMACKeys = append([]HMACKey(nil), p.HMACKeys...)
		p.Pools = append([]Pool(nil), p.Pools...)
		p.Insights = append([]Insight(nil), p.Insights...)
		p.Recommendations = append([]Recommendation(nil), p.Recommendations...)
		for j := range p.Pools {
			p.Pools[j].Providers = append([]Provider(nil), p.Pools[j].Providers...)
		}
		p.ServiceAccounts = append([]ServiceAccount(nil), p.ServiceAccounts...)
		for j := range p.ServiceAccounts {
			sa := &p.ServiceAccounts[j]
			sa.Keys = append([]Key(nil), sa.Keys...)
		}
	}
	return out
}

func cloneBindings(bs []Binding) []Binding {
	out := append([]Binding(nil), bs...)
	for i := range out {
		out[i].Members = append([]string(nil), out[i].Members...)
	}
	return out
}
