package awsfake

import (
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/nhiscan/nhiscan/collectors/fakeapi"
)

// Static credentials of the management account. The fake checks the access
// key id only; it does not verify signatures.
const (
	BaseAccessKeyID     = "AKIAFAKEMANAGEMENT01"
	BaseSecretAccessKey = "fake-base-secret-not-a-real-key"
)

// DefaultPageSize is how many items a page holds unless SetPageSize says
// otherwise (AWS's default MaxItems for IAM list calls).
const DefaultPageSize = 100

// orgPageCap is the largest ListAccounts page Organizations returns.
const orgPageCap = 20

// Server is a running fake.
type Server struct {
	// URL is the endpoint for every client (config.WithBaseEndpoint).
	fakeapi.Endpoint
	now func() time.Time

	mu         sync.Mutex
	management string
	accounts   map[string]*Account
	order      []string // account ids in seed order
	sessions   map[string]string
	nextSess   int
	fakeapi.Counter
	// Faults injects failures per account (the scope) and operation
	// ("iam:GetCredentialReport", "sts:AssumeRole"…). An sts:AssumeRole
	// call belongs to the account of the role it assumes.
	fakeapi.Faults
	acctCalls map[string]map[string]int
	reports   map[string]*report
	// planted is added to every error answer (SetErrorEcho).
	planted string
	// awsManaged holds AWS managed policy documents by ARN; jobs the
	// Access Advisor jobs by id, jobRounds how many further calls to the
	// account a job takes to complete (negative: never).
	awsManaged map[string]string
	jobs       map[string]*accessJob
	nextJob    int
	jobRounds  int
}

type report struct {
	generated time.Time
	pending   bool
	content   []byte // the CSV, as the account was at generated
	seen      int    // calls to the account when generation started
}

// New starts a fake serving a deep copy of seed.
func New(seed Seed) *Server {
	s := &Server{
		now:        seed.Now,
		management: seed.Management,
		accounts:   map[string]*Account{},
		sessions:   map[string]string{},
		acctCalls:  map[string]map[string]int{},
		reports:    map[string]*report{},
		awsManaged: copyMap(BuiltinManaged),
		jobs:       map[string]*accessJob{},
		jobRounds:  1,
	}
	if s.now == nil {
		s.now = time.Now
	}
	for k, v := range seed.AWSManaged {
		s.awsManaged[k] = v
	}
	for _, a := range seed.Accounts {
		a := copyAccount(a)
		s.accounts[a.ID] = &a
		s.order = append(s.order, a.ID)
	}
	s.Start(http.HandlerFunc(s.serve), false)
	return s
}

// CredentialsProvider returns the static credentials of the management
// account.
func (s *Server) CredentialsProvider() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(BaseAccessKeyID, BaseSecretAccessKey, "")
}

// SetErrorEcho makes every error answer carry v, as a careless or hostile
// endpoint might echo a credential or a signed request back: in its
// message, its request id and an extra element of the body. Tests plant a
// secret-looking value and check that it reaches no gap, log line or error
// string.
func (s *Server) SetErrorEcho(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.planted = v
}

func (s *Server) errorEcho() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.planted
}

// AccountCalls returns the number of calls per operation made in account.
func (s *Server) AccountCalls(account string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.acctCalls[account] {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Counter.ResetCalls()
	s.acctCalls = map[string]map[string]int{}
}

// Mutate changes the state of an account, as someone working in the AWS
// console would between two scans. It reports whether the account exists.
// Like IAM, a credential report generated earlier is not refreshed.
func (s *Server) Mutate(account string, f func(*Account)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[account]
	if ok {
		f(a)
	}
	return ok
}

// Account returns a copy of the current state of an account.
func (s *Server) Account(id string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return Account{}, false
	}
	return copyAccount(*a), true
}

// apiError is an error the fake returns in the protocol's shape.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errDenied(caller, op, resource string) *apiError {
	return &apiError{http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/caller is not authorized to perform: %s on resource: %s", caller, op, resource)}
}

func errNoSuchEntity(format string, a ...any) *apiError {
	return &apiError{http.StatusNotFound, "NoSuchEntity", fmt.Sprintf(format, a...)}
}

func errInvalid(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationError", fmt.Sprintf(format, a...)}
}

// request is a decoded call.
type request struct {
	op      string // service:Action
	action  string
	caller  string // account of the credentials
	account string // account charged (the caller, or AssumeRole's target)
	form    url.Values
	json    map[string]any
	// path and query are a REST call's (Access Analyzer, restJson1).
	path  string
	query url.Values
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	keyID, service := parseAuth(r.Header.Get("Authorization"))
	target := r.Header.Get("X-Amz-Target")
	req := request{}
	jsonProto := target != ""
	if rest, ok := restAction(r); ok {
		// Access Analyzer speaks restJson1: the operation is the method
		// and path.
		jsonProto, service = true, "access-analyzer"
		req.action, req.path, req.query, req.json = rest, r.URL.Path, r.URL.Query(), map[string]any{}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &req.json); err != nil {
				s.writeErr(w, true, errInvalid("body: %v", err))
				return
			}
		}
	} else if jsonProto {
		req.action = target[strings.LastIndex(target, ".")+1:]
		req.json = map[string]any{}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &req.json); err != nil {
				s.writeErr(w, true, errInvalid("body: %v", err))
				return
			}
		}
		if service == "" {
			service = "organizations"
		}
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			s.writeErr(w, false, errInvalid("form: %v", err))
			return
		}
		req.form = form
		req.action = form.Get("Action")
	}
	req.op = service + ":" + req.action
	if !s.Delay(r.Context()) {
		panic(http.ErrAbortHandler) // the client gave up or the fake is closing
	}
	result, aerr := s.call(r.Context(), req, keyID, service)
	if aerr != nil {
		s.writeErr(w, jsonProto, aerr)
		return
	}
	// Encode outside the lock: results hold copies, never shared state.
	if jsonProto {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if service == "access-analyzer" {
			w.Header().Set("Content-Type", "application/json")
		}
		_ = json.NewEncoder(w).Encode(result)
		return
	}
	writeXML(w, service, req.action, result)
}

// call authenticates and counts the call, applies an injected fault, and
// runs the operation.
func (s *Server) call(ctx context.Context, req request, keyID, service string) (any, *apiError) {
	req, aerr := s.route(req, keyID)
	if aerr != nil {
		return nil, aerr
	}
	if f, ok := s.Inject(req.account, req.op); ok {
		return nil, s.fault(ctx, f, req)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch service {
	case "iam":
		return s.iam(req)
	case "sts":
		return s.sts(req)
	case "organizations":
		return s.orgs(req)
	case "access-analyzer":
		return s.accessAnalyzer(req)
	}
	return nil, errInvalid("unknown service %q", service)
}

// route finds the caller's account and the account charged for the call,
// and counts it.
func (s *Server) route(req request, keyID string) (request, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	caller, ok := s.callerAccount(keyID)
	if !ok {
		return req, &apiError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	req.caller, req.account = caller, caller
	if req.op == "sts:AssumeRole" {
		if acct, _, ok := parseRoleARN(req.form.Get("RoleArn")); ok {
			req.account = acct
		}
	}
	s.Count(req.op)
	if s.acctCalls[req.account] == nil {
		s.acctCalls[req.account] = map[string]int{}
	}
	s.acctCalls[req.account][req.op]++
	return req, nil
}

// fault renders an injected fault as AWS answers it: AccessDenied (403;
// AccessDeniedException in JSON), Throttling (TooManyRequestsException for
// Organizations), a 5xx with the service's failure code, or, for a
// timeout, no answer at all until the client gives up, the hang limit
// passes (then the connection is dropped) or the server closes.
func (s *Server) fault(ctx context.Context, f fakeapi.Fault, req request) *apiError {
	orgs := strings.HasPrefix(req.op, "organizations:")
	switch f.Kind {
	case fakeapi.FaultDenied:
		return errDenied(req.caller, req.op, "*")
	case fakeapi.FaultThrottled:
		if orgs {
			return &apiError{http.StatusBadRequest, "TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress."}
		}
		return &apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	case fakeapi.FaultTimeout:
		s.Hang(ctx)
		panic(http.ErrAbortHandler) // drop the connection without an answer
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	code := "ServiceFailure" // IAM's code for an internal error
	switch {
	case status == http.StatusServiceUnavailable:
		code = "ServiceUnavailable"
	case orgs:
		code = "ServiceException"
	case strings.HasPrefix(req.op, "sts:"):
		code = "InternalFailure"
	}
	return &apiError{status, code, "The request processing has failed because of an unknown error, exception or failure."}
}

func (s *Server) callerAccount(keyID string) (string, bool) {
	if keyID == BaseAccessKeyID {
		return s.management, true
	}
	acct, ok := s.sessions[keyID]
	return acct, ok
}

// parseAuth reads the access key id and service from a SigV4 header:
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request, …".
func parseAuth(h string) (keyID, service string) {
	i := strings.Index(h, "Credential=")
	if i < 0 {
		return "", ""
	}
	cred := h[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return "", ""
	}
	return parts[0], parts[3]
}

func parseRoleARN(arn string) (account, name string, ok bool) {
	// arn:aws:iam::123456789012:role/path/name
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[2] != "iam" || !strings.HasPrefix(p[5], "role/") {
		return "", "", false
	}
	res := p[5][len("role/"):]
	return p[4], res[strings.LastIndex(res, "/")+1:], true
}

func (s *Server) writeErr(w http.ResponseWriter, jsonProto bool, e *apiError) {
	if jsonProto {
		code := e.code
		if code == "AccessDenied" {
			code = "AccessDeniedException"
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		body := map[string]string{"__type": code, "Message": e.message}
		if echo := s.errorEcho(); echo != "" {
			body["Message"] += " (request " + echo + ")"
			body["Detail"] = echo
		}
		w.WriteHeader(max(e.status, 400))
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	type errXML struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
		Detail  string   `xml:"Error>Detail,omitempty"`
		ReqID   string   `xml:"RequestId"`
	}
	body := errXML{Xmlns: "https://iam.amazonaws.com/doc/2010-05-08/", Type: typ, Code: e.code, Message: e.message, ReqID: "fake-request"}
	if echo := s.errorEcho(); echo != "" {
		body.Message += " (request " + echo + ")"
		body.Detail, body.ReqID = echo, echo
	}
	_ = xml.NewEncoder(w).Encode(body)
}

func writeXML(w http.ResponseWriter, service, action string, result any) {
	ns := "https://iam.amazonaws.com/doc/2010-05-08/"
	if service == "sts" {
		ns = "https://sts.amazonaws.com/doc/2011-06-15/"
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, "<%sResponse xmlns=%q>", action, ns)
	enc := xml.NewEncoder(w)
	if result == nil {
		result = struct{}{}
	}
	_ = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	_ = enc.Flush()
	fmt.Fprintf(w, "<ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata></%sResponse>", action)
}

// encodeDoc URL-encodes a policy document the way IAM returns it (RFC 3986:
// every byte outside the unreserved set is percent-encoded).
func encodeDoc(doc string) string {
	var b strings.Builder
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// paginate returns the window [start, end) of n items for a Marker and
// MaxItems, and the next marker ("" when done).
func (s *Server) paginate(marker string, maxItems string, n int) (start, end int, next string, err *apiError) {
	size := cmp.Or(s.PageSize(), DefaultPageSize)
	if maxItems != "" {
		var m int
		if _, e := fmt.Sscanf(maxItems, "%d", &m); e != nil || m < 1 || m > 1000 {
			return 0, 0, "", errInvalid("MaxItems %q out of range 1-1000", maxItems)
		}
		size = min(size, m)
	}
	if marker != "" {
		if _, e := fmt.Sscanf(marker, "fake-marker-%d", &start); e != nil || start < 0 || start > n {
			return 0, 0, "", errInvalid("invalid Marker")
		}
	}
	end = min(start+size, n)
	if end < n {
		next = fmt.Sprintf("fake-marker-%d", end)
	}
	return start, end, next, nil
}

func copyAccount(a Account) Account {
	out := a
	out.Users = make([]User, len(a.Users))
	for i, u := range a.Users {
		u.Tags = copyMap(u.Tags)
		u.Inline = copyMap(u.Inline)
		u.Groups = append([]string(nil), u.Groups...)
		u.Attached = append([]string(nil), u.Attached...)
		u.AccessKeys = append([]AccessKey(nil), u.AccessKeys...)
		u.ServiceCreds = append([]ServiceCred(nil), u.ServiceCreds...)
		u.LastAccessed = copyAccess(u.LastAccessed)
		out.Users[i] = u
	}
	out.Roles = make([]Role, len(a.Roles))
	for i, r := range a.Roles {
		r.Tags = copyMap(r.Tags)
		r.Inline = copyMap(r.Inline)
		r.Attached = append([]string(nil), r.Attached...)
		r.LastAccessed = copyAccess(r.LastAccessed)
		out.Roles[i] = r
	}
	out.Groups = make([]Group, len(a.Groups))
	for i, g := range a.Groups {
		g.Inline = copyMap(g.Inline)
		g.Attached = append([]string(nil), g.Attached...)
		out.Groups[i] = g
	}
	out.Policies = append([]Policy(nil), a.Policies...)
	if a.UnusedAnalyzer != nil {
		an := *a.UnusedAnalyzer
		out.UnusedAnalyzer = &an
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
