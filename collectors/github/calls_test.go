package github_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
)

// TestCallsObserved: Config.Calls hears every API call the fake counts,
// named by the same operationIds.
func TestCallsObserved(t *testing.T) {
	s := newSetup(t, githubfake.Demo(fixedNow))
	var mu sync.Mutex
	got := map[string]int{}
	s.cfg.Calls = func(c collectors.Call) {
		mu.Lock()
		defer mu.Unlock()
		// The demo organisation has no SAML SSO: that listing is a 404.
		if c.Provider != "github" || (c.Status != "ok" && c.Operation != "orgs/list-saml-sso-authorizations") {
			t.Errorf("call %+v", c)
		}
		got[c.Operation]++
	}
	if _, err := s.collector(t).Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.srv.Calls(), got); diff != "" || len(got) == 0 {
		t.Errorf("observed calls differ from the fake's count (-fake +observed):\n%s", diff)
	}
}
