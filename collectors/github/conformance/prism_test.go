package conformance_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// prismOps are the operations the collector and its controls' reads call,
// as the description names them.
var prismOps = []string{
	"apps/get-org-installation", "apps/create-installation-access-token", "orgs/get", "repos/list-for-org",
	"repos/list-deploy-keys", "repos/get-deploy-key", "orgs/list-app-installations", "orgs/list-pat-grants",
	"orgs/list-pat-grant-repositories", "orgs/list-saml-sso-authorizations", "actions/list-org-secrets",
	"actions/list-repo-secrets", "actions/list-environment-secrets", "repos/get-all-environments",
	"orgs/list-members", "orgs/list-outside-collaborators", "orgs/custom-properties-for-repos-get-organization-values",
}

// startPrism serves the description's operations ops with Stoplight
// Prism (static examples) on a free loopback port and returns its URL.
func startPrism(t *testing.T, d *description, ops []string) string {
	t.Helper()
	_, err := exec.LookPath("node")
	need(t, "node", err)
	bin, err := filepath.Abs(filepath.Join("node_modules", ".bin", "prism"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	need(t, "Stoplight Prism", err)
	spec := d.subset(t, ops)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	var out syncBuffer
	cmd := exec.Command(bin, "mock", "--host", "127.0.0.1", "--port", port, "--errors", "false", spec)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prism: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/orgs/octo-org", nil)
		req.Header.Set("Accept", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("prism exited:\n%s", out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prism not ready after 90s:\n%s", out.String())
		}
	}
}

// proxy stands between the collector and Prism. go-github asks for
// application/vnd.github.v3+json, which Prism answers with 406 (the
// description lists application/json only): the proxy asks for
// application/json. It records every answer, with Prism's validation
// verdicts (the sl-violations header), and drops Prism's Link header
// unless keepLink: the description's static example links every page to
// page 2 (TestCollectorAgainstPrism/paging keeps it on purpose).
type proxy struct {
	*httptest.Server
	mu       sync.Mutex
	keepLink bool
	seen     []exchange
	verdicts []string
}

func newProxy(t *testing.T, prism string, keepLink bool) *proxy {
	t.Helper()
	target, err := url.Parse(prism)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{keepLink: keepLink}
	rp := httputil.NewSingleHostReverseProxy(target)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		r.Header.Set("Accept", "application/json")
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if !p.keepLink {
			resp.Header.Del("Link")
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.seen = append(p.seen, exchange{resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, b})
		if v := resp.Header.Get("sl-violations"); v != "" {
			p.verdicts = append(p.verdicts, resp.Request.Method+" "+resp.Request.URL.RequestURI()+": "+v)
		}
		return nil
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

// calls counts the answers per operation.
func (p *proxy) calls(d *description) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, ex := range p.seen {
		if op, ok := d.match(ex.method, ex.path); ok {
			out[op.ID]++
		} else {
			out[ex.method+" "+ex.path]++
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a process's stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
