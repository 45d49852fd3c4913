package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoServe: demo --serve prints one reviewer's review link, which
// opens that reviewer's page of a live campaign; the owner's view signs in
// through the demo's identity provider; an interrupt stops it.
func TestDemoServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	c := newCLI(t)
	out := filepath.Join(c.dir, "demo")
	if code, _, errs := c.run("demo", "--out", out, "--serve", "--listen", "0.0.0.0:8080"); code != exitUsage || !strings.Contains(errs, "only on a loopback address") {
		t.Errorf("demo --serve on every interface = %d\n%s", code, errs)
	}
	r := c.start("demo", "--out", out, "--serve", "--listen", "127.0.0.1:0")
	var link string
	for range 100 { // the lines after the address are printed as the server starts
		if m := regexp.MustCompile(`carol\.diaz@acme\.example's review: (\S+)`).FindStringSubmatch(r.stdout.String()); m != nil &&
			strings.Contains(r.stdout.String(), "serving until interrupted") {
			link = m[1]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(link, r.addr+"/review?t=v1.") || !strings.Contains(r.stdout.String(), "owner's view: "+r.addr+"/owner") {
		t.Fatalf("demo --serve printed:\n%s", r.stdout)
	}
	jar, _ := cookiejar.New(nil)
	h := noRedirects(jar, nil)
	resp, body := fetch(t, h, http.MethodGet, link, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "carol.diaz@acme.example") || !strings.Contains(body, "Live review (demo --serve)") {
		t.Fatalf("link = %d\n%s", resp.StatusCode, body)
	}
	tok, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])
	resp, _ = fetch(t, h, http.MethodPost, r.addr+"/review/session", url.Values{"t": {tok.Get("t")}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/review/2" {
		t.Fatalf("exchange = %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body = fetch(t, h, http.MethodGet, r.addr+"/review/2", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "platform-terraform") {
		t.Errorf("review page = %d", resp.StatusCode)
	}
	// The owner signs in: login, the provider, the callback.
	ojar, _ := cookiejar.New(nil)
	follow := &http.Client{Jar: ojar}
	resp, body = fetch(t, follow, http.MethodGet, r.addr+"/auth/login?next=/owner", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed in as grace.kim@acme.example") {
		t.Fatalf("sign-in = %d\n%s", resp.StatusCode, body)
	}
	if resp, body = fetch(t, follow, http.MethodGet, r.addr+"/owner", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Live review (demo --serve)") ||
		!strings.Contains(body, "Q4 NHI recertification") {
		t.Errorf("owner view = %d\n%s", resp.StatusCode, body)
	}
	if code := r.wait(t); code != exitOK || !strings.Contains(r.stdout.String(), "nhiscan serve: stopped") {
		t.Errorf("demo --serve exited %d\n%s", code, r.stderr)
	}
}
