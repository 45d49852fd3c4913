package githubfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
)

func get(t *testing.T, s *githubfake.Server, path, token string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestWireFormat(t *testing.T) {
	s := githubfake.New(githubfake.DemoWithKey(time.Now(), nil))
	defer s.Close()
	s.SetPageSize(2)

	r := get(t, s, "/orgs/acme/repos?per_page=100", githubfake.DemoToken, nil)
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Link"), `page=2&per_page=100>; rel="next"`) || r.Header.Get("X-RateLimit-Limit") == "" {
		t.Fatalf("page 1: %d, Link %q", r.StatusCode, r.Header.Get("Link"))
	}
	last := get(t, s, "/orgs/acme/repos?per_page=100&page=3", githubfake.DemoToken, nil)
	if last.Header.Get("Link") != "" {
		t.Errorf("last page has a next link: %q", last.Header.Get("Link"))
	}
	etag := r.Header.Get("ETag")
	if r2 := get(t, s, "/orgs/acme/repos?per_page=100", githubfake.DemoToken, map[string]string{"If-None-Match": etag}); r2.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", r2.StatusCode)
	}
	if r3 := get(t, s, "/api/v3/orgs/acme/repos", githubfake.DemoToken, nil); r3.StatusCode != 200 {
		t.Errorf("GHES path: %d", r3.StatusCode)
	}
	if r4 := get(t, s, "/orgs/acme/repos", "ghp_wrong", nil); r4.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad token: %d", r4.StatusCode)
	}
	if r5 := get(t, s, "/orgs/acme/personal-access-tokens", githubfake.DemoToken, nil); r5.StatusCode != http.StatusForbidden {
		t.Errorf("classic token listing fine-grained tokens: %d, want 403", r5.StatusCode)
	}
	if r6 := get(t, s, "/orgs/acme-labs/credential-authorizations", githubfake.DemoToken, nil); r6.StatusCode != http.StatusNotFound {
		t.Errorf("credential authorisations of a non-SAML org: %d, want 404", r6.StatusCode)
	}
	s.Throttle(githubfake.DemoOrg, githubfake.OpListMembers, 1)
	if r7 := get(t, s, "/orgs/acme/members", githubfake.DemoToken, nil); r7.StatusCode != http.StatusTooManyRequests || r7.Header.Get("Retry-After") == "" {
		t.Errorf("throttled: %d, Retry-After %q", r7.StatusCode, r7.Header.Get("Retry-After"))
	}
	if r8 := get(t, s, "/orgs/acme/members", githubfake.DemoToken, nil); r8.StatusCode != 200 {
		t.Errorf("after throttle: %d", r8.StatusCode)
	}
	s.Deny("acme", "")
	if r9 := get(t, s, "/orgs/ACME/members", githubfake.DemoToken, nil); r9.StatusCode != http.StatusForbidden {
		t.Errorf("denied scope (any spelling): %d", r9.StatusCode)
	}
	if n := s.CallCount(githubfake.OpListRepos); n != 5 {
		t.Errorf("repos calls counted %d, want 5", n)
	}
	if n := s.NotModified()[githubfake.OpListRepos]; n != 1 {
		t.Errorf("304s counted %d, want 1", n)
	}
}

func post(t *testing.T, s *githubfake.Server, path, token, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestFaultRendering: each fault is answered in GitHub's wire format, and
// only for its scope and operation.
func TestFaultRendering(t *testing.T) {
	s := githubfake.New(githubfake.DemoWithKey(time.Now(), nil))
	defer s.Close()
	tok := githubfake.DemoToken

	s.Deny(githubfake.DemoOrg, githubfake.OpListRepoSecrets)
	s.Deny(githubfake.DemoOrg, githubfake.OpListInstallations)
	s.Deny(githubfake.DemoOrg, githubfake.OpGraphQL)
	if r := get(t, s, "/repos/acme/payments-api/actions/secrets", tok, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("denied repository read: %d, want 404", r.StatusCode)
	}
	if r := get(t, s, "/orgs/acme/installations", tok, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("denied org read: %d, want 403", r.StatusCode)
	}
	if r := get(t, s, "/orgs/acme-labs/installations", tok, nil); r.StatusCode != http.StatusOK {
		t.Errorf("another org: %d, want 200", r.StatusCode)
	}
	if r, body := post(t, s, "/graphql", tok, `{"query":"{deployKeys}","variables":{"org":"acme"}}`); r.StatusCode != http.StatusOK || !strings.Contains(body, `"FORBIDDEN"`) {
		t.Errorf("denied GraphQL: %d %s, want 200 with a FORBIDDEN error", r.StatusCode, body)
	}

	s.ClearFaults()
	s.Fail("", githubfake.OpListMembers, http.StatusBadGateway)
	if r := get(t, s, "/orgs/acme-labs/members", tok, nil); r.StatusCode != http.StatusBadGateway {
		t.Errorf("failed: %d, want 502", r.StatusCode)
	}

	s.ClearFaults()
	s.SetThrottleKind(githubfake.Primary)
	s.Throttle("", githubfake.OpListOutside, 1)
	if r := get(t, s, "/orgs/acme/outside_collaborators", tok, nil); r.StatusCode != http.StatusForbidden || r.Header.Get("X-RateLimit-Remaining") != "0" || r.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("primary limit: %d, remaining %q", r.StatusCode, r.Header.Get("X-RateLimit-Remaining"))
	}
	if got := len(s.Injected()); got != 1 {
		t.Errorf("%d injections recorded, want 1", got)
	}
}

// TestTimeoutFault: a call with a Timeout fault hangs until its client
// gives up, and Close does not wait for hanging calls.
func TestTimeoutFault(t *testing.T) {
	s := githubfake.New(githubfake.DemoWithKey(time.Now(), nil))
	s.Timeout(githubfake.DemoOrg, githubfake.OpListMembers)
	c := s.Client()
	c.Timeout = 100 * time.Millisecond
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/orgs/acme/members", nil)
	req.Header.Set("Authorization", "Bearer "+githubfake.DemoToken)
	start := time.Now()
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("hanging call answered %d", resp.StatusCode)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("client gave up after %v", d)
	}

	s.SetHang(time.Hour)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/orgs/acme/members", nil)
		req.Header.Set("Authorization", "Bearer "+githubfake.DemoToken)
		if resp, err := s.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); s.CallCount(githubfake.OpListMembers) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second hanging call never arrived")
		}
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close waits for a hanging call")
	}
}

// TestInFlightEndsWithTheAnswer: a request counts as in flight only until
// its answer starts. A client that decodes an answer and sends its next
// request at once (as go-github does: it does not wait for the end of the
// body) is one request in flight, however late this handler returns.
func TestInFlightEndsWithTheAnswer(t *testing.T) {
	seed := githubfake.Large(time.Now(), "bigco", 300, 0, nil)
	tok := "ghp_inflight"
	seed.Tokens = []githubfake.StaticToken{{Value: tok, Login: "x", Scopes: []string{"repo"}}}
	s := githubfake.New(seed)
	defer s.Close()
	s.SetPageSize(300) // answers far larger than the server's write buffer
	client := s.Client()
	client.Timeout = 30 * time.Second // a hang fails here, not after the test binary's timeout
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/orgs/bigco/repos?per_page=300", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var v []json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v) != 300 {
			t.Fatalf("decode: %v (%d repos)", err, len(v))
		}
		resp.Body.Close() // before the trailing bytes: the next request may overlap the end of this handler
	}
	if got := s.MaxInFlight(); got != 1 {
		t.Errorf("one request at a time counted as %d in flight", got)
	}
}
