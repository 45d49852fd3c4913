package aws_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/nhiscan/nhiscan/collectors"
	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// canaries are secret-looking values a careless or hostile endpoint echoes
// in its error answers: a secret access key and a signed JWT assertion.
var canaries = []string{
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARY0KEY",
	"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJjYW5hcnlAZXhhbXBsZSIsImF1ZCI6Im5oaXNjYW4ifQ.Q2FuYXJ5U2lnbmF0dXJlMDEyMzQ1Njc4OQ",
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// leaks reports the canary parts found in s. A JWT is checked part by
// part: no segment of it may survive.
func leaks(s string) []string {
	var out []string
	for _, c := range canaries {
		for _, part := range strings.Split(c, ".") {
			if strings.Contains(s, part) {
				out = append(out, part[:8]+"…")
			}
		}
	}
	return out
}

// TestErrorBodiesAreReduced: error answers that echo secret-looking values
// (in the message, the request id and an extra element) reach no gap
// detail, inventory, log line or error string. The gap keeps the status,
// the error code and the message around the value.
func TestErrorBodiesAreReduced(t *testing.T) {
	for _, canary := range canaries {
		srv := startFake(t, awsfake.Demo(now))
		srv.SetErrorEcho(canary)
		srv.Deny(awsfake.DemoPayments, "iam:GetCredentialReport")
		srv.Fail(awsfake.DemoData, "iam:ListServiceSpecificCredentials", http.StatusInternalServerError)
		srv.Throttle(awsfake.DemoData, "iam:ListAccessKeys", 1000)
		srv.Deny(awsfake.DemoManagement, "sts:AssumeRole")
		var logs syncBuffer
		logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c := newCollector(t, srv, func(c *awscol.Config) { c.Logger = logger })
		inv, err := c.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var js bytes.Buffer
		if err := nhi.Encode(&js, inv); err != nil {
			t.Fatal(err)
		}
		if l := leaks(js.String()); len(l) > 0 {
			t.Errorf("inventory carries %v", l)
		}
		if l := leaks(logs.String()); len(l) > 0 {
			t.Errorf("log carries %v", l)
		}
		if len(inv.Gaps) < 4 {
			t.Fatalf("gaps = %+v, want one per failed call", inv.Gaps)
		}
		for _, g := range inv.Gaps {
			if l := leaks(g.Detail); len(l) > 0 {
				t.Errorf("gap %s %s detail carries %v: %s", g.Scope, g.Source, l, g.Detail)
			}
			if g.Source == "iam:GetCredentialReport" && !strings.Contains(g.Detail, "HTTP 403, api error AccessDenied: User: arn:aws:sts::") {
				t.Errorf("gap detail %q lost the status, code or message", g.Detail)
			}
		}

		// An error the collection returns, and one from the controls.
		srv.Deny(awsfake.DemoManagement, "organizations:ListAccounts")
		_, err = newCollector(t, srv, nil).Collect(context.Background())
		if err == nil || !errors.Is(err, collectors.ErrDenied) {
			t.Fatalf("Collect with the organisation denied: %v", err)
		}
		if l := leaks(err.Error()); len(l) > 0 {
			t.Errorf("Collect error carries %v: %v", l, err)
		}
		srv.ClearFaults()
		user := byName(t, collectortest.Collect(t, c), awsfake.DemoPayments, "payments-ci-deployer")
		srv.Deny(awsfake.DemoPayments, "iam:UpdateAccessKey")
		_, err = newControls(t, srv, nil).Act(context.Background(), collectors.ActionRequest{Action: collectors.Disable, Identity: user, CredentialID: "AKIA222PAYCIOLDKEY01"})
		if !errors.Is(err, collectors.ErrDenied) {
			t.Fatalf("Act: %v, want denied", err)
		}
		if l := leaks(err.Error()); len(l) > 0 {
			t.Errorf("Act error carries %v: %v", l, err)
		}
	}
}
