package githubfake

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/nhiscan/nhiscan/collectors/fakeapi"
)

// Operation names, as GitHub's OpenAPI description names them. Calls are
// counted and errors injected per operation.
const (
	OpCreateInstallationToken = "apps/create-installation-access-token"
	OpGetOrgInstallation      = "apps/get-org-installation"
	OpGetOrg                  = "orgs/get"
	OpListRepos               = "repos/list-for-org"
	OpGraphQL                 = "graphql"
	OpListDeployKeys          = "repos/list-deploy-keys"
	OpGetDeployKey            = "repos/get-deploy-key"
	OpCreateDeployKey         = "repos/create-deploy-key"
	OpDeleteDeployKey         = "repos/delete-deploy-key"
	OpListInstallations       = "orgs/list-app-installations"
	OpListPATGrants           = "orgs/list-pat-grants"
	OpListPATRepositories     = "orgs/list-pat-grant-repositories"
	OpUpdatePATAccess         = "orgs/update-pat-access"
	OpListSAMLAuthorizations  = "orgs/list-saml-sso-authorizations"
	OpRemoveSAMLAuthorization = "orgs/remove-saml-sso-authorization"
	OpListOrgSecrets          = "actions/list-org-secrets"
	OpListRepoSecrets         = "actions/list-repo-secrets"
	OpListEnvSecrets          = "actions/list-environment-secrets"
	OpListEnvironments        = "repos/get-all-environments"
	OpListMembers             = "orgs/list-members"
	OpListOutside             = "orgs/list-outside-collaborators"
	OpListPropertyValues      = "orgs/custom-properties-for-repos-get-organization-values"
)

type route struct {
	op      string
	appPerm string // permission:level an installation token needs; "" none
	// classic is the OAuth scope a classic token needs; "-" means the
	// endpoint refuses classic tokens (GitHub Apps only); "app" means it
	// refuses installation tokens (classic tokens only).
	classic string
	jwt     bool
	handle  func(*call) response
}

type response struct {
	status int
	body   any
	// list paging: items is paged and wrapped under key ("" = bare array).
	items   []any
	wrapKey string
	headers map[string]string
}

type call struct {
	r    *http.Request
	org  *orgState
	repo *repoState
	body []byte
	p    principal
}

type principal struct {
	kind   string // jwt | installation | classic
	org    string
	perms  map[string]string
	repos  map[string]bool // installation on selected repositories; nil: all
	scopes []string
	login  string
}

type issuedToken struct {
	org     string
	perms   map[string]string
	repos   map[string]bool
	expires time.Time
}

// Server is a running fake GitHub API.
type Server struct {
	// Endpoint serves the fake at its URL (no trailing slash): the REST
	// API at URL+"/" and, as on GitHub Enterprise Server, at
	// URL+"/api/v3/"; GraphQL at URL+"/graphql" and URL+"/api/graphql".
	fakeapi.Endpoint
	mu sync.Mutex

	seed   Seed
	appKey *rsa.PublicKey
	orgs   map[string]*orgState
	tokens map[string]issuedToken
	nextID int64
	now    func() time.Time

	fakeapi.Counter
	fakeapi.Faults
	notModified  map[string]int
	throttleKind ThrottleKind
	paging       map[string]Paging // op -> paging fault
	faultMessage string            // message of injected error answers; "" GitHub's
	echoAuth     bool              // injected error answers echo the Authorization header
	revoke202    bool              // a token revocation answers 202, not 204
	retryAfter   int               // seconds, in secondary-limit answers

	// flight counts the requests being processed: from their arrival
	// until their answer starts (see serve).
	flight      sync.Mutex
	inFlight    int
	maxInFlight int // the most at once since ResetCalls

	rateLimit     int
	rateRemaining int
	rateReset     time.Time
}

type orgState struct {
	Org
	repos map[string]*repoState
}

type repoState struct {
	*Repo
}

// New starts a fake seeded with seed. Close it when done.
func New(seed Seed) *Server {
	s := &Server{
		seed:        seed,
		orgs:        map[string]*orgState{},
		tokens:      map[string]issuedToken{},
		nextID:      9_000_000,
		now:         time.Now,
		notModified: map[string]int{},
		paging:      map[string]Paging{},
		retryAfter:  1,
		rateLimit:   15000,
	}
	s.rateRemaining = s.rateLimit
	s.rateReset = time.Now().Add(time.Hour)
	if seed.App != nil && len(seed.App.PrivateKeyPEM) > 0 {
		if k, err := jwt.ParseRSAPrivateKeyFromPEM(seed.App.PrivateKeyPEM); err == nil {
			s.appKey = &k.PublicKey
		}
	}
	for i := range seed.Orgs {
		o := &orgState{Org: seed.Orgs[i], repos: map[string]*repoState{}}
		o.Repos = append([]Repo(nil), o.Repos...)
		for j := range o.Repos {
			r := &o.Repos[j]
			r.DeployKeys = append([]DeployKey(nil), r.DeployKeys...)
			o.repos[strings.ToLower(r.Name)] = &repoState{Repo: r}
		}
		o.FineGrainedTokens = append([]FineGrainedToken(nil), o.FineGrainedTokens...)
		o.CredentialAuthorizations = append([]CredentialAuthorization(nil), o.CredentialAuthorizations...)
		s.orgs[strings.ToLower(o.Login)] = o
	}
	mux := http.NewServeMux()
	s.routes(mux)
	root := http.NewServeMux()
	root.Handle("/api/v3/", http.StripPrefix("/api/v3", mux))
	root.Handle("POST /api/graphql", s.wrap(s.graphqlRoute()))
	root.Handle("/", mux)
	s.Start(root, false)
	return s
}

// maxPerPage is GitHub's largest page, the fake's page size unless
// SetPageSize says otherwise.
const maxPerPage = 100

// perPage is the largest page the fake serves.
func (s *Server) perPage() int { return cmp.Or(s.PageSize(), maxPerPage) }

// SetNow sets the clock the fake checks App JWTs and token expiry against
// (default time.Now).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetRateLimit sets the primary rate limit per hour (default 15,000, an
// Enterprise Cloud App installation) and resets the remaining budget.
func (s *Server) SetRateLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit, s.rateRemaining = n, n
}

// NotModified returns the number of 304 answers per operation.
func (s *Server) NotModified() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.notModified))
	for k, v := range s.notModified {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Counter.ResetCalls()
	s.notModified = map[string]int{}
	s.flight.Lock()
	s.maxInFlight = s.inFlight
	s.flight.Unlock()
}

// MaxInFlight returns the most requests the fake served at once since it
// started or since ResetCalls.
func (s *Server) MaxInFlight() int {
	s.flight.Lock()
	defer s.flight.Unlock()
	return s.maxInFlight
}

// AddDeployKey adds a deploy key to a repository (a change the next scan
// must see).
func (s *Server) AddDeployKey(org, repo string, k DeployKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[strings.ToLower(org)]
	if !ok {
		return fmt.Errorf("no org %q", org)
	}
	r, ok := o.repos[strings.ToLower(repo)]
	if !ok {
		return fmt.Errorf("no repo %q", repo)
	}
	r.DeployKeys = append(r.DeployKeys, k)
	return nil
}

// SetRevokeAccepted makes a token revocation answer 202 Accepted, as
// GitHub once did, instead of the description's 204.
func (s *Server) SetRevokeAccepted(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoke202 = on
}

// Reauthorize has the owner of a credential authorise it again for SAML
// single sign-on, as GitHub does when a token is re-authorised: the
// authorisation gets a new credential_id; the credential keeps its
// authorized_credential_id. It returns the new credential_id.
func (s *Server) Reauthorize(org string, authorizedCredentialID int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[strings.ToLower(org)]
	if !ok {
		return 0, fmt.Errorf("no org %q", org)
	}
	for i := range o.CredentialAuthorizations {
		if a := &o.CredentialAuthorizations[i]; a.AuthorizedCredentialID == authorizedCredentialID {
			s.nextID++
			a.CredentialID, a.Authorized = s.nextID, s.now().UTC().Truncate(time.Second)
			return a.CredentialID, nil
		}
	}
	return 0, fmt.Errorf("no authorisation of credential %d in %s", authorizedCredentialID, org)
}

// DeployKeys returns the deploy keys of a repository as the fake holds them.
func (s *Server) DeployKeys(org, repo string) []DeployKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orgs[strings.ToLower(org)]; ok {
		if r, ok := o.repos[strings.ToLower(repo)]; ok {
			return append([]DeployKey(nil), r.DeployKeys...)
		}
	}
	return nil
}

// Credentials names the files WriteCredentials wrote.
type Credentials struct {
	AppID          int64
	AppKeyFile     string
	TokenFile      string
	InstallationID map[string]int64
}

// WriteCredentials writes the seed's App private key and first static token
// into dir (mode 0600) so a collector can be configured with *_file
// settings, as in production.
func (s *Server) WriteCredentials(dir string) (Credentials, error) {
	var c Credentials
	if a := s.seed.App; a != nil {
		c.AppID = a.ID
		c.AppKeyFile = filepath.Join(dir, "github-app.pem")
		if err := os.WriteFile(c.AppKeyFile, a.PrivateKeyPEM, 0o600); err != nil {
			return c, fmt.Errorf("write app key: %w", err)
		}
		c.InstallationID = map[string]int64{}
		for org, in := range a.Installations {
			c.InstallationID[org] = in.ID
		}
	}
	if len(s.seed.Tokens) > 0 {
		c.TokenFile = filepath.Join(dir, "github-token")
		if err := os.WriteFile(c.TokenFile, []byte(s.seed.Tokens[0].Value+"\n"), 0o600); err != nil {
			return c, fmt.Errorf("write token: %w", err)
		}
	}
	return c, nil
}

// NewAppKey returns a fresh 2048-bit RSA private key in PKCS#1 PEM, for
// seeds.
func NewAppKey() []byte {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// ---- request plumbing ----

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(rt, w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func errBody(msg, doc string) map[string]string {
	return map[string]string{"message": msg, "documentation_url": doc, "status": ""}
}

// serve answers one request: fault injection first (rendered in GitHub's
// wire format), then the primary rate limit, authentication, permissions
// and the route's handler.
//
// A request counts as in flight from its arrival until its answer starts:
// a client that has read an answer may send its next request before this
// handler has returned, and must not be counted twice for it.
func (s *Server) serve(rt route, w http.ResponseWriter, r *http.Request) {
	body, _ := readAll(r)
	s.Count(rt.op)
	answered := s.arrive()
	defer answered()
	if !s.Delay(r.Context()) {
		return
	}
	orgName := s.orgOf(rt, r, body)
	if f, ok := s.Inject(s.scopeOf(orgName), rt.op); ok {
		s.fault(rt, w, r, f, answered)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	resource := "core"
	if rt.op == OpGraphQL {
		resource = "graphql"
	}
	s.rateHeaders(w, resource)
	if s.rateRemaining <= 0 {
		answered()
		writeThrottle(w, Primary, s.retryAfter)
		return
	}
	res, served := s.handle(rt, r, body, orgName)
	if served && resource == "core" {
		s.rateRemaining--
	}
	answered()
	s.write(w, r, rt.op, res)
}

// arrive counts a request in flight and returns the func that ends it
// (idempotent).
func (s *Server) arrive() func() {
	s.flight.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.flight.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.flight.Lock()
			s.inFlight--
			s.flight.Unlock()
		})
	}
}

// orgOf returns the organisation a request concerns: from its path, the
// GraphQL query's variables, or the App installation it mints a token for.
func (s *Server) orgOf(rt route, r *http.Request, body []byte) string {
	orgName := r.PathValue("org")
	if orgName == "" {
		orgName = r.PathValue("owner")
	}
	switch rt.op {
	case OpGraphQL:
		var q struct {
			Variables map[string]any `json:"variables"`
		}
		_ = json.Unmarshal(body, &q)
		orgName, _ = q.Variables["org"].(string)
	case OpCreateInstallationToken:
		id, _ := strconv.ParseInt(r.PathValue("installation_id"), 10, 64)
		if s.seed.App != nil {
			for org, in := range s.seed.App.Installations {
				if in.ID == id {
					orgName = org
				}
			}
		}
	}
	return orgName
}

// scopeOf is the fault scope of an organisation: its login as seeded
// (logins are case-insensitive), or the name as given, lower case.
func (s *Server) scopeOf(org string) string {
	if o, ok := s.orgs[strings.ToLower(org)]; ok {
		return o.Login
	}
	return strings.ToLower(org)
}

// handle authenticates and authorises the call and runs the route's
// handler; served says the handler ran (the call counts against the
// primary rate limit).
func (s *Server) handle(rt route, r *http.Request, body []byte, orgName string) (response, bool) {
	p, err := s.authenticate(r, rt.jwt)
	if err != nil {
		return response{status: http.StatusUnauthorized, body: errBody(err.Error(), "https://docs.github.com/rest")}, false
	}
	c := &call{r: r, body: body, p: p}
	if orgName != "" {
		o, ok := s.orgs[strings.ToLower(orgName)]
		if !ok {
			return notFound(), false
		}
		c.org = o
		if repo := r.PathValue("repo"); repo != "" {
			rs, ok := o.repos[strings.ToLower(repo)]
			if !ok || !p.sees(repo) {
				return notFound(), false
			}
			c.repo = rs
		}
	}
	if msg, ok := s.authorize(rt, c); !ok {
		return response{status: http.StatusForbidden, body: errBody(msg, "https://docs.github.com/rest")}, false
	}
	return rt.handle(c), true
}

func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

func (s *Server) rateHeaders(w http.ResponseWriter, resource string) {
	if time.Now().After(s.rateReset) {
		s.rateRemaining = s.rateLimit
		s.rateReset = time.Now().Add(time.Hour)
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.rateRemaining, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.rateLimit-max(s.rateRemaining, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rateReset.Unix(), 10))
	h.Set("X-RateLimit-Resource", resource)
}

func (s *Server) authenticate(r *http.Request, wantJWT bool) (principal, error) {
	h := r.Header.Get("Authorization")
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(h, "Bearer "), "token "))
	if tok == "" {
		return principal{}, errors.New("Requires authentication")
	}
	if wantJWT {
		if s.appKey == nil {
			return principal{}, errors.New("A JSON web token could not be decoded")
		}
		t, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return s.appKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
		if err != nil {
			return principal{}, fmt.Errorf("A JSON web token could not be decoded: %v", err)
		}
		iss, _ := t.Claims.GetIssuer()
		if iss != strconv.FormatInt(s.seed.App.ID, 10) {
			return principal{}, errors.New("'Issuer' claim ('iss') must be the app id")
		}
		return principal{kind: "jwt"}, nil
	}
	if it, ok := s.tokens[tok]; ok {
		if s.now().After(it.expires) {
			return principal{}, errors.New("Bad credentials")
		}
		return principal{kind: "installation", org: it.org, perms: it.perms, repos: it.repos}, nil
	}
	for _, st := range s.seed.Tokens {
		if st.Value == tok {
			return principal{kind: "classic", scopes: st.Scopes, login: st.Login}, nil
		}
	}
	return principal{}, errors.New("Bad credentials")
}

// sees reports whether the principal may see the repository: an
// installation on selected repositories sees only those.
func (p principal) sees(repo string) bool {
	return p.repos == nil || p.repos[strings.ToLower(repo)]
}

var levels = map[string]int{"read": 1, "write": 2, "admin": 3}

func (s *Server) authorize(rt route, c *call) (string, bool) {
	switch c.p.kind {
	case "jwt":
		return "", rt.jwt
	case "installation":
		if rt.classic == "app" {
			return "Resource not accessible by integration", false
		}
		if c.org != nil && !strings.EqualFold(c.org.Login, c.p.org) {
			return "Resource not accessible by integration", false
		}
		if rt.appPerm == "" {
			return "", true
		}
		name, lvl, _ := strings.Cut(rt.appPerm, ":")
		if levels[c.p.perms[name]] >= levels[lvl] {
			return "", true
		}
		return "Resource not accessible by integration", false
	case "classic":
		switch rt.classic {
		case "-":
			return "Resource not accessible by personal access token", false
		case "", "app":
			return "", true
		}
		for _, sc := range c.p.scopes {
			if sc == rt.classic || (rt.classic == "read:org" && (sc == "admin:org" || sc == "write:org")) {
				return "", true
			}
		}
		return "Resource not accessible by personal access token", false
	}
	return "Requires authentication", false
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, op string, res response) {
	for k, v := range res.headers {
		w.Header().Set(k, v)
	}
	status := res.status
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusNoContent || status == http.StatusAccepted && res.body == nil {
		w.WriteHeader(status)
		return
	}
	body := res.body
	if res.items != nil || (body == nil && status == http.StatusOK) {
		items := res.items
		if items == nil {
			items = []any{}
		}
		pageItems := s.page(w, r, op, items)
		if res.wrapKey != "" {
			body = map[string]any{"total_count": len(items), res.wrapKey: pageItems}
		} else {
			body = pageItems
		}
	}
	b, _ := json.Marshal(body)
	if r.Method == http.MethodGet && status == http.StatusOK {
		// GitHub's ETags are specific to the credential (its answers vary
		// on Authorization): a new installation token, minted every hour,
		// gets new ETags for unchanged answers.
		h := sha256.New()
		h.Write([]byte(r.Header.Get("Authorization")))
		h.Write([]byte{0})
		h.Write(b)
		sum := h.Sum(nil)
		etag := `W/"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
			s.notModified[op]++
			s.rateRemaining++ // a 304 does not count against the primary limit
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(s.rateRemaining, 0)))
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

// page cuts one page out of items as the request asks (per_page, page),
// sets its Link header, and applies the op's paging fault.
func (s *Server) page(w http.ResponseWriter, r *http.Request, op string, items []any) []any {
	per := s.perPage()
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 && v < per {
		per = v
	}
	page := 1
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	step := per
	if s.paging[op] == PagingOverlap && per > 1 {
		step = per - 1 // each page starts with the last item of the one before
	}
	last := 1
	if len(items) > per {
		last = 1 + (len(items)-per+step-1)/step
	}
	lo := min((page-1)*step, len(items))
	hi := min(lo+per, len(items))
	switch s.paging[op] {
	case PagingStatic:
		// Every page is the first, and links to page 2, as a mock that
		// serves the description's examples does.
		lo, hi = 0, min(per, len(items))
		w.Header().Set("Link", linkHeader(r, 2, 5))
		return items[lo:hi]
	case PagingSelfLink:
		w.Header().Set("Link", linkHeader(r, page, last))
		return items[lo:hi]
	}
	if page < last {
		w.Header().Set("Link", linkHeader(r, page+1, last))
	}
	return items[lo:hi]
}

func linkHeader(r *http.Request, next, last int) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
	mk := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, mk(next), mk(last))
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
