package azure_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// canary looks like a bearer token and a client secret: it must never
// leave an error body.
const canary = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.Qx9~canary8f3a1c0d7e2b"

// leakCheck fails when the canary appears in the inventory, the logs, a
// gap or the error.
func leakCheck(t *testing.T, inv nhi.Inventory, logs *bytes.Buffer, err error) {
	t.Helper()
	var out bytes.Buffer
	_ = nhi.Encode(&out, inv)
	for what, s := range map[string]string{"inventory": out.String(), "logs": logs.String(), "error": errString(err)} {
		if strings.Contains(s, "canary8f3a") || strings.Contains(s, "c2VjcmV0") {
			t.Errorf("the error body's canary reached the %s", what)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func debugLogger() (*slog.Logger, *bytes.Buffer) {
	var logs bytes.Buffer
	return slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), &logs
}

// TestErrorBodiesReduced: Graph and ARM error bodies (message, inner
// error, target, and a code that is not an error code) are dropped at the
// translation step; the status and a well-formed code remain.
func TestErrorBodiesReduced(t *testing.T) {
	for _, inCode := range []bool{false, true} {
		f := newFake(t, azurefake.Demo(fixedNow))
		f.SetErrorCanary(canary, inCode)
		f.Deny(azurefake.DemoTenantID, azurefake.OpApplicationsList)
		f.Deny(azurefake.DemoTenantID, azurefake.OpSPSignInActivities)
		f.Fail(azurefake.DemoTenantID, azurefake.OpCredentialSignInActivities, http.StatusInternalServerError)
		f.Deny(azurefake.DemoSubProd, azurefake.OpRoleAssignmentsList)
		f.Fail(azurefake.DemoSubData, azurefake.OpUserAssignedIdentitiesList, http.StatusBadGateway)
		log, logs := debugLogger()
		inv, err := newCollector(t, f, fast, func(c *azure.Config) { c.Logger = log }).Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		leakCheck(t, inv, logs, err)
		var details []string
		for _, g := range inv.Gaps {
			details = append(details, g.Detail)
		}
		all := strings.Join(details, "\n")
		if !strings.Contains(all, "(403") || !strings.Contains(all, "(500") {
			t.Errorf("statuses missing from the gap details:\n%s", all)
		}
		if kept := strings.Contains(all, "Authorization_RequestDenied"); kept == inCode {
			t.Errorf("canary in code %v: well-formed error code kept = %v:\n%s", inCode, kept, all)
		}
	}
}

// failingToken answers every token request with the token endpoint's
// error, whose body echoes what was sent (as a client assertion would be).
type failingToken struct{}

func (failingToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	body := `{"error":"invalid_client","error_description":"AADSTS700027: assertion ` + canary + ` is invalid","error_codes":[700027]}`
	resp := &http.Response{StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
	return azcore.AccessToken{}, &azidentity.AuthenticationFailedError{RawResponse: resp}
}

// TestTokenErrorReduced: a failed token request keeps its status only.
func TestTokenErrorReduced(t *testing.T) {
	f := newFake(t, azurefake.Demo(fixedNow))
	log, logs := debugLogger()
	inv, err := newCollector(t, f, fast, func(c *azure.Config) {
		c.Credential, c.Logger = failingToken{}, log
	}).Collect(context.Background())
	if err == nil {
		t.Fatal("Collect with no token succeeded")
	}
	leakCheck(t, inv, logs, err)
	if len(inv.Gaps) == 0 || !strings.Contains(inv.Gaps[0].Detail, "token request failed (401)") || inv.Gaps[0].Kind != nhi.GapDenied {
		t.Errorf("gaps = %+v, want denied gaps saying the token request failed", inv.Gaps)
	}
}
