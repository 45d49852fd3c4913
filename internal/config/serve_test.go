package config_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/config"
)

func TestServeExample(t *testing.T) {
	got, err := config.Load("testdata/serve.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Serve{
		Listen: "0.0.0.0:8443", PublicURL: "https://nhiscan.acme.example",
		TLSCertFile: "/etc/nhiscan/tls/fullchain.pem", TLSKeyFile: "/etc/nhiscan/tls/privkey.pem",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("192.0.2.7/32")},
		OIDC: &config.OIDC{Issuer: "https://login.acme.example", ClientID: "nhiscan",
			ClientSecretFile: filepath.Join("testdata", "secrets/oidc-client-secret"),
			RedirectURL:      "https://nhiscan.acme.example/auth/callback",
			AllowedOwners:    []string{"grace.kim@acme.example", "ops.lead@acme.example"}, Reviewers: true},
	}
	if diff := cmp.Diff(want, got.Serve, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("serve (-want +got):\n%s", diff)
	}
}

func TestServeExampleIsDocumented(t *testing.T) {
	b, err := os.ReadFile("testdata/serve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readDoc(t), "```yaml\n"+string(b)+"```\n") {
		t.Error("docs/configuration.md does not contain testdata/serve.yaml verbatim in a yaml block")
	}
}

func TestServeDefaultsAndEnv(t *testing.T) {
	got, err := config.Parse("c.yaml", []byte("serve:\n  public_url: https://nhiscan.acme.example/\n  oidc:\n    issuer: https://login.acme.example\n    client_id: nhiscan\n    allowed_owners: [grace@acme.example]\n"),
		env(map[string]string{
			"NHISCAN_SERVE_LISTEN":          ":8443",
			"NHISCAN_SERVE_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
			"NHISCAN_SERVE_OIDC_REVIEWERS":  "true",
		}))
	if err != nil {
		t.Fatal(err)
	}
	s := got.Serve
	// The redirect URL defaults to the public URL's callback; a listen
	// address on every interface is fine behind trusted proxies.
	if s.Listen != ":8443" || s.PublicURL != "https://nhiscan.acme.example" || s.OIDC.RedirectURL != "https://nhiscan.acme.example/auth/callback" ||
		!s.OIDC.Reviewers || len(s.TrustedProxies) != 2 || s.TrustedProxies[1] != netip.MustParsePrefix("::1/128") {
		t.Errorf("serve = %+v, oidc %+v", s, s.OIDC)
	}
	// No serve section: the zero value (the command's defaults apply).
	got, err = config.Parse("c.yaml", []byte("database: x.db\n"), env(nil))
	if err != nil || got.Serve.Listen != "" || got.Serve.OIDC != nil {
		t.Errorf("no serve section = %+v, %v", got.Serve, err)
	}
	// A loopback listen address needs no TLS.
	for _, l := range []string{"127.0.0.1:8080", "localhost:0", "[::1]:9000"} {
		if _, err := config.Parse("c.yaml", []byte("serve:\n  listen: \""+l+"\"\n"), env(nil)); err != nil {
			t.Errorf("listen %s: %v", l, err)
		}
	}
}

func TestServeErrors(t *testing.T) {
	const src = `serve:
  listen: 0.0.0.0:8080
  public_url: http://nhiscan.acme.example/review
  tls_key_file: /etc/nhiscan/key.pem
  trusted_proxies: [10.0.0.0/33, proxy.acme.example]
  oidc:
    issuer: http://login.acme.example
    client_secret: s3cr3t-value
    allowed_owners: [Grace <grace@acme.example>, a@acme.example, A@acme.example]
`
	_, err := config.Parse("c.yaml", []byte(src), env(map[string]string{"NHISCAN_SERVE_OIDC_REVIEWERS": "maybe"}))
	var es *config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want *config.Errors", err)
	}
	got := err.Error()
	for _, want := range []string{
		`c.yaml:3:15: public_url "http://nhiscan.acme.example/review" must be an origin only`,
		`serve needs both tls_cert_file and tls_key_file, or neither`,
		`c.yaml:5:21: trusted proxy "10.0.0.0/33" is not an IP address or CIDR network`,
		`trusted proxy "proxy.acme.example" is not an IP address or CIDR network`,
		`c.yaml:7:13: issuer "http://login.acme.example": http is allowed to a loopback host only`,
		`inline secret "client_secret" in oidc is not allowed: secrets never go in the configuration; use "client_secret_file"`,
		`oidc has no client_id`,
		`oidc has no redirect_url, and serve has no public_url to derive it from`,
		`allowed owner "Grace <grace@acme.example>" is not an email address`,
		`allowed owner "A@acme.example" is listed twice`,
		`NHISCAN_SERVE_OIDC_REVIEWERS: must be true or false, got "maybe"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, "s3cr3t-value") {
		t.Error("an error quotes the client secret")
	}
	// Clear text on an address other hosts reach, without a proxy in front.
	_, err = config.Parse("c.yaml", []byte("serve:\n  listen: 0.0.0.0:8080\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), `c.yaml:2:11: listen "0.0.0.0:8080" is reachable from other hosts in clear text`) {
		t.Errorf("clear-text listen: %v", err)
	}
	for _, src := range []string{"serve:\n  listen: nowhere\n", "serve:\n  listen: 127.0.0.1:99999\n"} {
		if _, err := config.Parse("c.yaml", []byte(src), env(nil)); err == nil || !strings.Contains(err.Error(), "is not host:port") {
			t.Errorf("%q: %v", src, err)
		}
	}
	_, err = config.Parse("c.yaml", []byte("serve:\n  oidc:\n    issuer: https://login.acme.example\n    client_id: x\n    redirect_url: https://n.acme.example/auth/callback\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "oidc lets nobody sign in") {
		t.Errorf("oidc without owners or reviewers: %v", err)
	}
}

// TestServeFlags: command-line flags override the file and the
// environment, pass the same validation, and a problem names the flag.
func TestServeFlags(t *testing.T) {
	flags := func(listen, proxies string) []config.Flag {
		return []config.Flag{{Name: "--listen", Key: []string{"serve", "listen"}, Value: listen},
			{Name: "--trusted-proxy", Key: []string{"serve", "trusted_proxies"}, Value: proxies}}
	}
	got, err := config.LoadWithFlags("testdata/serve.yaml", env(map[string]string{"NHISCAN_SERVE_LISTEN": "127.0.0.1:1"}), flags("127.0.0.1:9443", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got.Serve.Listen != "127.0.0.1:9443" || len(got.Serve.TrustedProxies) != 2 || got.Serve.OIDC == nil {
		t.Errorf("serve = %+v", got.Serve)
	}
	_, err = config.LoadWithFlags("", env(nil), flags("0.0.0.0:80", ""))
	if err == nil || !strings.Contains(err.Error(), `--listen: listen "0.0.0.0:80" is reachable from other hosts in clear text`) {
		t.Errorf("clear-text flag: %v", err)
	}
	if _, err := config.LoadWithFlags("", env(nil), flags("0.0.0.0:80", "10.0.0.0/8")); err != nil {
		t.Errorf("behind a proxy: %v", err)
	}
	_, err = config.LoadWithFlags("", env(nil), flags("", "10.0.0.0/99"))
	if err == nil || !strings.Contains(err.Error(), `--trusted-proxy: trusted proxy "10.0.0.0/99" is not an IP address or CIDR network`) {
		t.Errorf("bad proxy flag: %v", err)
	}
}
