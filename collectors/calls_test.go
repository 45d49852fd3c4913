package collectors_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func TestPathOperation(t *testing.T) {
	idAfter := map[string]int{"orgs": 1, "repos": 2, "environments": 1, "projects": 1, "serviceAccounts": 1}
	for path, want := range map[string]string{
		"/orgs/acme/installations":                       "GET /orgs/{}/installations",
		"/repos/acme/web/environments/prod/secrets":      "GET /repos/{}/{}/environments/{}/secrets",
		"/repos/acme/web/keys/42":                        "GET /repos/{}/{}/keys/{}",
		"/v1/projects/p-1/serviceAccounts/sa@p.iam/keys": "GET /v1/projects/{}/serviceAccounts/{}/keys",
		"/72f9-4a/oauth2/v2.0/token":                     "GET /72f9-4a/oauth2/v2.0/token",
		"/tenant/0b1c2d3e-1111/x":                        "GET /tenant/{}/x",
		"/v1/projects/prod:getIamPolicy":                 "GET /v1/projects/{}:getIamPolicy",
		"/v1.0/servicePrincipals/0b1c2d3e-0000-4000-8000-000000000001/appRoleAssignedTo": "GET /v1.0/servicePrincipals/{}/appRoleAssignedTo",
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if got := collectors.PathOperation(req, idAfter); got != want {
			t.Errorf("PathOperation(%s) = %q, want %q", path, got, want)
		}
	}
}

func TestObserveTransportAndStatus(t *testing.T) {
	codes := []int{200, 403, 404, 429, 503, 400}
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(codes[i]); i++ }))
	defer srv.Close()
	var got []string
	rt := collectors.ObserveTransport(nil, nhi.GitHub, func(r *http.Request) string { return r.URL.Path },
		func(c collectors.Call) { got = append(got, string(c.Provider)+" "+c.Operation+" "+c.Status) })
	c := &http.Client{Transport: rt}
	for range codes {
		resp, err := c.Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := []string{"github /x ok", "github /x denied", "github /x not_found", "github /x throttled", "github /x unavailable", "github /x error"}
	if len(got) != len(want) {
		t.Fatalf("calls %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d = %q, want %q", i, got[i], want[i])
		}
	}
	if collectors.CallStatus(nil, errors.New("refused")) != "error" {
		t.Error("a transport error is not error")
	}
	if base := http.DefaultTransport; collectors.ObserveTransport(base, nhi.AWS, nil, nil) != base {
		t.Error("no observer should leave the transport alone")
	}
}
