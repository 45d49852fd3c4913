package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/store"
)

// running is a command running in the background.
type running struct {
	addr           string
	stdout, stderr *syncBuffer
	stop           context.CancelFunc
	code           chan int
}

// start runs a long-running command (serve, demo --serve) until stop and
// waits until it listens.
func (c *cli) start(args ...string) *running {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, stop: cancel, code: make(chan int, 1)}
	addr := make(chan string, 1)
	a := &app{stdout: r.stdout, stderr: r.stderr, now: func() time.Time { return c.now }, getenv: func(k string) string { return c.env[k] },
		served: func(s string) { addr <- s }}
	go func() { r.code <- a.run(ctx, args) }()
	select {
	case r.addr = <-addr:
	case code := <-r.code:
		cancel()
		c.t.Fatalf("%v exited %d before listening\n%s%s", args, code, r.stdout, r.stderr)
	case <-time.After(30 * time.Second):
		cancel()
		c.t.Fatalf("%v did not listen\n%s%s", args, r.stdout, r.stderr)
	}
	c.t.Cleanup(cancel)
	return r
}

// wait stops the command and returns its exit code.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	r.stop()
	select {
	case code := <-r.code:
		return code
	case <-time.After(15 * time.Second):
		t.Fatal("the command did not stop")
	}
	return -1
}

// linkOf finds the review link's token in a message.
func linkOf(t *testing.T, msg []byte) string {
	t.Helper()
	m := regexp.MustCompile(`\?t=3D(v1\.[A-Za-z0-9_=\r\n.-]+)`).FindSubmatch(msg)
	if m == nil {
		t.Fatalf("no review link in the message:\n%s", msg)
	}
	// Undo quoted-printable soft line breaks and =3D.
	tok := strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(string(m[1]))
	return strings.TrimRight(strings.SplitN(tok, "\r\n", 2)[0], "=")
}

func noRedirects(jar http.CookieJar, tr http.RoundTripper) *http.Client {
	return &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestServe: serve hosts the review page for the links the campaign mail
// carries; a decision made there is recorded with the client address the
// trusted proxy names; an interrupt stops it cleanly.
func TestServe(t *testing.T) {
	c, srv, conf := campaignCLI(t)
	c.ok(append([]string{"campaign", "create", "--due", "14d"}, conf...)...)
	c.ok(append([]string{"campaign", "send", "--campaign", "1"}, conf...)...)
	tok := linkOf(t, srv.Messages()[0].Data)

	r := c.start(append([]string{"serve", "--listen", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1"}, conf...)...)
	if !strings.Contains(r.stdout.String(), "nhiscan serve: review page http://127.0.0.1:") {
		t.Errorf("serve printed:\n%s", r.stdout)
	}
	jar, _ := cookiejar.New(nil)
	h := noRedirects(jar, nil)
	resp, body := fetch(t, h, http.MethodGet, r.addr+"/review?t="+url.QueryEscape(tok), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "carol@acme.example") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("landing = %d\n%s", resp.StatusCode, body)
	}
	resp, _ = fetch(t, h, http.MethodPost, r.addr+"/review/session", url.Values{"t": {tok}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("exchange = %d", resp.StatusCode)
	}
	resp, body = fetch(t, h, http.MethodPost, r.addr+"/review/1/decide",
		url.Values{"item": {"4"}, "decision": {"certify"}, "justification": {"deploys production"}}, "X-Forwarded-For", "203.0.113.77")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decide = %d\n%s", resp.StatusCode, body)
	}
	if code := r.wait(t); code != exitOK || !strings.Contains(r.stdout.String(), "nhiscan serve: stopped") {
		t.Fatalf("serve exited %d\n%s%s", code, r.stdout, r.stderr)
	}
	log := c.ok(append([]string{"audit", "log"}, conf...)...)
	if !strings.Contains(log, "campaign.decision campaign:1/item:4") || !strings.Contains(log, `client="203.0.113.77"`) || !strings.Contains(log, `source="web"`) {
		t.Errorf("audit log:\n%s", log)
	}
}

// TestServeTLS: with a certificate, serve speaks TLS and the session
// cookie is Secure with the __Host- prefix.
func TestServeTLS(t *testing.T) {
	c, srv, conf := campaignCLI(t)
	c.ok(append([]string{"campaign", "create", "--due", "14d"}, conf...)...)
	c.ok(append([]string{"campaign", "send", "--campaign", "1"}, conf...)...)
	tok := linkOf(t, srv.Messages()[0].Data)
	certFile, keyFile, pool := selfSignedFiles(t, c.dir)
	r := c.start(append([]string{"serve", "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile}, conf...)...)
	if !strings.HasPrefix(r.addr, "https://") {
		t.Fatalf("address %s", r.addr)
	}
	h := noRedirects(nil, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	resp, _ := fetch(t, h, http.MethodPost, r.addr+"/review/session", url.Values{"t": {tok}})
	cs := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Name != "__Host-nhiscan_session" || !cs[0].Secure ||
		resp.Header.Get("Strict-Transport-Security") == "" || resp.TLS == nil {
		t.Errorf("exchange over TLS = %d, cookies %+v", resp.StatusCode, cs)
	}
	if code := r.wait(t); code != exitOK {
		t.Errorf("serve exited %d\n%s", code, r.stderr)
	}
}

// TestServeUsageErrors: what serve refuses before it listens, exit 2.
func TestServeUsageErrors(t *testing.T) {
	c, _, conf := campaignCLI(t)
	certFile, _, _ := selfSignedFiles(t, c.dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--listen", "0.0.0.0:8080"}, `--listen: listen "0.0.0.0:8080" is reachable from other hosts in clear text`},
		{[]string{"serve", "--tls-cert", certFile}, "serve needs both tls_cert_file and tls_key_file"},
		{[]string{"serve", "--trusted-proxy", "proxy.example"}, `--trusted-proxy: trusted proxy "proxy.example"`},
		{[]string{"serve", "--public-url", "http://nhiscan.example"}, "http is allowed to a loopback host only"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", certFile}, "serve TLS certificate"},
	} {
		code, _, errs := c.run(append(tc.args, conf...)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v = %d\n%s", tc.args, code, errs)
		}
	}
	// Without a link key or sign-in there is nothing to serve; without a
	// catalog, nobody to route to.
	bare := newCLI(t)
	writeFile(t, filepath.Join(bare.dir, "nhiscan.yaml"), "database: nhiscan.db\ncatalog: ["+testdata("catalog.yaml")+"]\n")
	bare.ok("scan", "--config", filepath.Join(bare.dir, "nhiscan.yaml"), "--inventory", testdata("scan1.json"))
	if code, _, errs := bare.run("serve", "--config", filepath.Join(bare.dir, "nhiscan.yaml"), "--listen", "127.0.0.1:0"); code != exitUsage || !strings.Contains(errs, "nothing to serve") {
		t.Errorf("serve without a key = %d\n%s", code, errs)
	}
	writeFile(t, filepath.Join(bare.dir, "nocat.yaml"), "database: nhiscan.db\n")
	if code, _, errs := bare.run("serve", "--config", filepath.Join(bare.dir, "nocat.yaml")); code != exitUsage || !strings.Contains(errs, "no catalog") {
		t.Errorf("serve without a catalog = %d\n%s", code, errs)
	}
}

// selfSignedFiles writes a certificate for 127.0.0.1 and its key.
func selfSignedFiles(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "nhiscan test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	mustWrite(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	mustWrite(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeWaitsForTheWriterLock: serve started while another writer (a
// scan from cron, a command run by hand) holds the database waits for it
// and says so, where a command run by hand is refused at once.
func TestServeWaitsForTheWriterLock(t *testing.T) {
	c, _, conf := campaignCLI(t)
	held, err := store.Open(context.Background(), filepath.Join(c.dir, "nhiscan.db"))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := c.run(append([]string{"campaign", "create", "--due", "14d"}, conf...)...); code == exitOK || !strings.Contains(errs, "another nhiscan command is writing") {
		t.Fatalf("a command run by hand under the lock = %d\n%s", code, errs)
	}
	go func() {
		time.Sleep(time.Second)
		held.Close()
	}()
	r := c.start(append([]string{"serve", "--listen", "127.0.0.1:0"}, conf...)...)
	if !strings.Contains(r.stderr.String(), "waiting for the database's writer lock") {
		t.Errorf("serve did not say it waited:\n%s", r.stderr)
	}
	if code := r.wait(t); code != exitOK {
		t.Fatalf("serve exited %d\n%s%s", code, r.stdout, r.stderr)
	}
}
