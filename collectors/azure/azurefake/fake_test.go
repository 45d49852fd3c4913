package azurefake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/fakeapi"
)

func get(ctx context.Context, f *azurefake.Server, path string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL+path, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer azurefake-token")
	resp, err := f.Client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body.Error.Code, nil
}

const (
	appsPath = "/v1.0/applications"
	subsPath = "/subscriptions?api-version=2022-12-01"
	rasPath  = "/subscriptions/" + azurefake.DemoSubProd + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
)

// TestFaultWireFormat: each fault is answered as Graph or ARM answers it,
// in the scope the fake names (the tenant for Graph and the subscription
// list, the subscription for calls in it).
func TestFaultWireFormat(t *testing.T) {
	cases := []struct {
		name       string
		inject     func(f *azurefake.Server)
		path       string
		status     int
		code       string
		retryAfter string
		scope, op  string
		second     int // status of the next call
	}{
		{"graph denied", func(f *azurefake.Server) { f.Deny(azurefake.DemoTenantID, azurefake.OpApplicationsList) },
			appsPath, 403, "Authorization_RequestDenied", "", azurefake.DemoTenantID, azurefake.OpApplicationsList, 403},
		{"arm denied", func(f *azurefake.Server) { f.Deny(azurefake.DemoSubProd, "") },
			rasPath, 403, "AuthorizationFailed", "", azurefake.DemoSubProd, azurefake.OpRoleAssignmentsList, 403},
		{"subscription list in the tenant scope", func(f *azurefake.Server) { f.Deny(azurefake.DemoTenantID, "") },
			subsPath, 403, "AuthorizationFailed", "", azurefake.DemoTenantID, azurefake.OpSubscriptionsList, 403},
		{"graph throttled", func(f *azurefake.Server) { f.Throttle("", azurefake.OpApplicationsList, 1) },
			appsPath, 429, "TooManyRequests", "1", azurefake.DemoTenantID, azurefake.OpApplicationsList, 200},
		{"arm throttled", func(f *azurefake.Server) {
			f.SetRetryAfter(3 * time.Second)
			f.Throttle(azurefake.DemoSubProd, azurefake.OpRoleAssignmentsList, 1)
		}, rasPath, 429, "SubscriptionRequestsThrottled", "3", azurefake.DemoSubProd, azurefake.OpRoleAssignmentsList, 200},
		{"graph 500", func(f *azurefake.Server) { f.Fail("", "", 500) },
			appsPath, 500, "generalException", "", azurefake.DemoTenantID, azurefake.OpApplicationsList, 500},
		{"arm 503", func(f *azurefake.Server) { f.Fail(azurefake.DemoSubProd, "", 503) },
			rasPath, 503, "ServiceUnavailable", "", azurefake.DemoSubProd, azurefake.OpRoleAssignmentsList, 503},
		{"denied after one call", func(f *azurefake.Server) { f.DenyAfter("", azurefake.OpApplicationsList, 1) },
			appsPath, 200, "", "", "", "", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := azurefake.New(azurefake.Demo(time.Now()))
			defer f.Close()
			tc.inject(f)
			resp, code, err := get(t.Context(), f, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || code != tc.code || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("answer %d %q Retry-After %q, want %d %q %q", resp.StatusCode, code, resp.Header.Get("Retry-After"), tc.status, tc.code, tc.retryAfter)
			}
			if tc.op != "" {
				inj := f.Injected()
				if len(inj) != 1 || inj[0].Scope != tc.scope || inj[0].Op != tc.op {
					t.Errorf("injected %+v, want one in %s %s", inj, tc.scope, tc.op)
				}
			}
			resp, _, err = get(t.Context(), f, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.second {
				t.Errorf("second call: %d, want %d", resp.StatusCode, tc.second)
			}
		})
	}
}

// TestTimeoutFault: a timed-out call hangs until the client gives up, or
// answers 504 after the hang limit; Close does not wait for a hanging call.
func TestTimeoutFault(t *testing.T) {
	f := azurefake.New(azurefake.Demo(time.Now()))
	f.Timeout(azurefake.DemoTenantID, azurefake.OpApplicationsList)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := get(ctx, f, appsPath)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("client gave up after %v with %v, want its deadline", time.Since(start), err)
	}
	f.SetHang(50 * time.Millisecond)
	resp, code, err := get(t.Context(), f, appsPath)
	if err != nil || resp.StatusCode != http.StatusGatewayTimeout || code != "timeout" {
		t.Errorf("after the hang limit: %v %q %v, want 504 timeout", resp, code, err)
	}
	f.SetHang(time.Hour)
	go func() { _, _, _ = get(context.Background(), f, appsPath) }()
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { f.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a hanging request")
	}
	if inj := f.Injected(); len(inj) != 3 || inj[0].Fault.Kind != fakeapi.FaultTimeout {
		t.Errorf("injections %+v, want 3 timeouts", inj)
	}
}
