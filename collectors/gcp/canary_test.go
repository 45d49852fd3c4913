package gcp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// plantedSecret looks like a credential a provider might echo back in an
// error: it must never be kept.
const plantedSecret = "Zk9PYmFSLXNlY3JldC1jYW5hcnk9PTJ4N3FMbVRzZXhhbXBsZQ=="

// serviceAccountFile writes a service account key file for a fresh RSA
// key, whose token_uri is the fake's token endpoint, and returns its path
// and the PEM of the private key.
func serviceAccountFile(t *testing.T, srv *gcpfake.Server) (string, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "acme-security", "private_key_id": "0123456789abcdef0123456789abcdef01234567",
		"private_key": keyPEM, "client_email": "scanner@acme-security.iam.gserviceaccount.com", "client_id": "104999999999999999999",
		"token_uri": srv.TokenURI(), "universe_domain": "googleapis.com",
	})
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, keyPEM
}

// TestErrorBodiesNeverLeak signs in with a service account key through
// the fake's token endpoint and makes both kinds of error happen: the token
// endpoint refusing the signed assertion (and echoing it, as Google's
// does), and API errors whose bodies carry a planted secret-looking value.
// Neither the assertion, the access tokens, the private key nor the
// planted value may reach the inventory, its gaps, a log line or the
// returned error.
func TestErrorBodiesNeverLeak(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*gcpfake.Server)
	}{
		{"token endpoint refuses the assertion", func(s *gcpfake.Server) { s.RefuseTokens(true) }},
		{"API errors echo a secret", func(s *gcpfake.Server) {
			s.SetErrorEcho(plantedSecret)
			s.Deny("acme-data-prod", gcpfake.OpQueryActivity)
			s.Fail("acme-payments-prod", gcpfake.OpListAPIKeys, 400)
			s.Fail("", gcpfake.OpSearchIamPolicies, 500)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := demo(t)
			tc.setup(srv)
			file, keyPEM := serviceAccountFile(t, srv)
			var logs bytes.Buffer
			c, err := gcp.New(gcp.Config{Organization: gcpfake.DemoOrganization, Endpoint: srv.URL, CredentialsFile: file,
				Now: func() time.Time { return now }, RetryBaseDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			inv, cerr := c.Collect(context.Background())
			var out bytes.Buffer
			if err := nhi.Encode(&out, inv); err != nil {
				t.Fatal(err)
			}
			texts := map[string]string{"inventory": out.String(), "log": logs.String()}
			if cerr != nil {
				texts["error"] = cerr.Error()
			}
			secrets := append(srv.TokenSecrets(), plantedSecret, strings.TrimSpace(keyPEM))
			if len(srv.TokenSecrets()) == 0 {
				t.Fatal("the fake's token endpoint was never called: the test proves nothing")
			}
			if len(inv.Gaps) == 0 {
				t.Fatal("no gap: the test proves nothing")
			}
			for where, text := range texts {
				for _, s := range secrets {
					if leaked(text, s) {
						t.Errorf("the %s holds a secret (%.24s…)", where, s)
					}
				}
			}
			t.Logf("first gap: %s %s: %s", inv.Gaps[0].Source, inv.Gaps[0].Kind, inv.Gaps[0].Detail)
		})
	}
}

// leaked reports whether text holds the secret, or a 16-byte piece of it.
func leaked(text, secret string) bool {
	for _, line := range strings.Split(secret, "\n") {
		for i := 0; i+16 <= len(line); i += 8 {
			if strings.Contains(text, line[i:i+16]) {
				return true
			}
		}
	}
	return false
}
