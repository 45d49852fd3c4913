package githubfake_test

import (
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
	s.Throttle(githubfake.OpListMembers, 1, githubfake.Secondary)
	if r7 := get(t, s, "/orgs/acme/members", githubfake.DemoToken, nil); r7.StatusCode != http.StatusTooManyRequests || r7.Header.Get("Retry-After") == "" {
		t.Errorf("throttled: %d, Retry-After %q", r7.StatusCode, r7.Header.Get("Retry-After"))
	}
	if r8 := get(t, s, "/orgs/acme/members", githubfake.DemoToken, nil); r8.StatusCode != 200 {
		t.Errorf("after throttle: %d", r8.StatusCode)
	}
	s.Deny("acme")
	if r9 := get(t, s, "/orgs/acme/members", githubfake.DemoToken, nil); r9.StatusCode != http.StatusForbidden {
		t.Errorf("denied scope: %d", r9.StatusCode)
	}
	if n := s.CallCount(githubfake.OpListRepos); n != 5 {
		t.Errorf("repos calls counted %d, want 5", n)
	}
	if n := s.NotModified()[githubfake.OpListRepos]; n != 1 {
		t.Errorf("304s counted %d, want 1", n)
	}
}
