package githubfake

import (
	"net/http"
	"strconv"
	"time"

	"github.com/nhiscan/nhiscan/collectors/fakeapi"
)

// Faults are injected with the methods of the embedded fakeapi.Faults:
// Deny(scope, op), DenyAfter, Throttle(scope, op, n), Fail(scope, op,
// status), Timeout(scope, op) and Random. A scope is an organisation login
// (as seeded; requests spell it in any case), an op one of the Op
// constants; "" matches any. The fake renders each fault as GitHub does:
//
//   - denied: 403 "Resource not accessible by integration"; 404 for a
//     read of one repository's resources (GitHub answers 404 where it
//     will not confirm that a resource the credential may not see
//     exists); for the GraphQL query, 200 with a FORBIDDEN error;
//   - throttled: as SetThrottleKind says (default Secondary: 429 with
//     Retry-After and GitHub's secondary-rate-limit body);
//   - failed: the status with GitHub's error JSON;
//   - timeout: no answer until the client gives up, the hang limit
//     (SetHang) passes (then 504) or the fake closes.

// ThrottleKind says how a throttled call is answered.
type ThrottleKind int

// Throttle kinds.
const (
	// Secondary answers 429 with Retry-After, as GitHub does for its
	// secondary (abuse) limits.
	Secondary ThrottleKind = iota
	// Primary answers 403 with X-RateLimit-Remaining: 0 and a reset time,
	// as GitHub does when the hourly budget is spent.
	Primary
	// Plain answers 429 with Retry-After and a bare message, without the
	// documentation URL go-github looks for (as a proxy in front of GitHub
	// Enterprise Server may).
	Plain
)

// Paging is a paging fault of one operation's list answers.
type Paging int

// Paging faults.
const (
	// PagingNormal pages as GitHub does.
	PagingNormal Paging = iota
	// PagingStatic answers every page with the first page's items and a
	// Link to page 2, as a mock serving the description's examples does:
	// the next page never brings a new item.
	PagingStatic
	// PagingSelfLink gives every page a Link whose next page is the page
	// itself.
	PagingSelfLink
	// PagingOverlap starts every page after the first with the last item
	// of the page before, as GitHub's pages shift when an item is added
	// while a client pages: an item is listed on two pages.
	PagingOverlap
)

// SetPaging sets the paging fault of op's list answers ("" clears them
// all when p is PagingNormal). For the GraphQL query, PagingStatic answers
// the first page again, with the same end cursor and hasNextPage, and
// PagingOverlap starts each page with the last repository of the one
// before.
func (s *Server) SetPaging(op string, p Paging) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == "" && p == PagingNormal {
		s.paging = map[string]Paging{}
		return
	}
	s.paging[op] = p
}

// SetFaultMessage sets the message of the error answers of injected
// denied and failed faults ("" restores GitHub's): a canary planted there
// must never reach a gap, an inventory, a log line or an error.
func (s *Server) SetFaultMessage(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultMessage = msg
}

// SetEchoCredential makes injected error answers echo the request's
// Authorization header (an App JWT, an installation token, a static
// token) in their message, as some servers echo what they refused.
func (s *Server) SetEchoCredential(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echoAuth = on
}

// SetThrottleKind sets how throttled calls are answered (default
// Secondary).
func (s *Server) SetThrottleKind(k ThrottleKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleKind = k
}

// SetRetryAfter sets the Retry-After of secondary-limit answers, in whole
// seconds (default 1; 0 is allowed and makes retrying tests fast).
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = int(d / time.Second)
}

// repoReads are the reads of one repository's resources, which GitHub
// refuses with 404.
var repoReads = map[string]bool{
	OpListDeployKeys: true, OpListRepoSecrets: true, OpListEnvSecrets: true, OpListEnvironments: true,
}

// fault answers a call with an injected fault; answered ends the call's
// time in flight before the answer starts.
func (s *Server) fault(rt route, w http.ResponseWriter, r *http.Request, f fakeapi.Fault, answered func()) {
	s.mu.Lock()
	resource := "core"
	if rt.op == OpGraphQL {
		resource = "graphql"
	}
	s.rateHeaders(w, resource)
	kind, retryAfter := s.throttleKind, s.retryAfter
	message := func(std string) string {
		m := std
		if s.faultMessage != "" {
			m = s.faultMessage
		}
		if s.echoAuth {
			m += " (credential: " + r.Header.Get("Authorization") + ")"
		}
		return m
	}
	s.mu.Unlock()
	switch f.Kind {
	case fakeapi.FaultTimeout:
		hung := s.Hang(r.Context())
		answered()
		if !hung {
			return // the client gave up or the fake is closing: no answer
		}
		writeJSON(w, http.StatusGatewayTimeout, errBody("We couldn't respond to your request in time. Sorry about that.", "https://docs.github.com/rest"))
	case fakeapi.FaultThrottled:
		answered()
		writeThrottle(w, kind, retryAfter)
	case fakeapi.FaultFailed:
		answered()
		writeJSON(w, f.Status, errBody(message(http.StatusText(f.Status)), "https://docs.github.com/rest"))
	default:
		answered()
		switch {
		case rt.op == OpGraphQL:
			writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"organization": nil}, "errors": []any{map[string]any{
				"type": "FORBIDDEN", "path": []any{"organization"}, "message": message("Resource not accessible by integration")}}})
		case repoReads[rt.op]:
			writeJSON(w, http.StatusNotFound, errBody(message("Not Found"), "https://docs.github.com/rest"))
		default:
			writeJSON(w, http.StatusForbidden, errBody(message("Resource not accessible by integration"), "https://docs.github.com/rest"))
		}
	}
}

// writeThrottle answers with a rate-limit error of the given kind.
func writeThrottle(w http.ResponseWriter, kind ThrottleKind, retryAfter int) {
	if kind == Primary {
		reset := time.Now().Add(1500 * time.Millisecond)
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix()+1, 10))
		writeJSON(w, http.StatusForbidden, errBody("API rate limit exceeded for installation.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"))
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	if kind == Plain {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Too Many Requests"})
		return
	}
	writeJSON(w, http.StatusTooManyRequests, errBody("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"))
}
