package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/web"
	"github.com/nhiscan/nhiscan/internal/web/oidctest"
)

// withOIDC starts an in-process OpenID provider that signs email in, and
// configures the server to use it.
func withOIDC(t *testing.T, email string, reviewers bool, claims func(map[string]any)) (envOption, **oidctest.Provider) {
	var p *oidctest.Provider
	return func(c *web.Config, base string) {
		var err error
		p, err = oidctest.New(oidctest.Options{ClientID: "nhiscan", ClientSecret: "client-secret-value", RedirectURL: base + "/auth/callback",
			Email: email, EmailVerified: true, Now: c.Now, Claims: claims})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		c.OIDC = &web.OIDC{Issuer: p.Issuer, ClientID: "nhiscan", ClientSecret: "client-secret-value", RedirectURL: base + "/auth/callback",
			AllowedOwners: []string{"Grace@acme.example"}, Reviewers: reviewers, HTTPClient: p.Client()}
	}, &p
}

// signIn goes through the provider and back: login, the provider's
// authorization, the callback. It returns the callback's response.
func (b *browser) signIn(next string) response {
	b.t.Helper()
	r := b.get("/auth/login?next=" + url.QueryEscape(next))
	if r.StatusCode != http.StatusFound {
		b.t.Fatalf("login = %d\n%s", r.StatusCode, r.body)
	}
	auth, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	q := auth.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": "nhiscan", "code_challenge_method": "S256",
		"redirect_uri": b.e.ts.URL + "/auth/callback", "scope": "openid email profile"} {
		if q.Get(k) != want {
			b.t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge") == "" {
		b.t.Errorf("authorization request without state, nonce or PKCE: %s", auth)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(auth.String())
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), b.e.ts.URL+"/auth/callback?") {
		b.t.Fatalf("provider sent the browser to %q", resp.Header.Get("Location"))
	}
	return b.get(back.RequestURI())
}

// TestOwnerViewNeedsSignIn: the owner's view is never anonymous: without
// sign-in configured it is refused; with it, a visitor (or a reviewer with
// a link) is sent to sign in.
func TestOwnerViewNeedsSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t, "203.0.113.5")
	for _, p := range []string{"/owner", "/owner/1"} {
		if r := b.get(p); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "needs OpenID Connect sign-in") {
			t.Errorf("%s without sign-in configured = %d", p, r.StatusCode)
		}
	}
	b.open(e.links["carol@acme.example"])
	if r := b.get("/owner"); r.StatusCode != http.StatusForbidden {
		t.Errorf("/owner with a review link = %d", r.StatusCode)
	}
	opt, _ := withOIDC(t, "grace@acme.example", false, nil)
	o := newEnv(t, opt)
	b = o.browser(t, "203.0.113.5")
	if r := b.get("/owner/1"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/auth/login?next=%2Fowner%2F1" {
		t.Errorf("/owner/1 anonymous = %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	b.open(o.links["carol@acme.example"])
	if r := b.get("/owner"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("/owner with a review link = %d", r.StatusCode)
	}
}

// TestOwnerSignsIn: an allowed owner signs in with OpenID Connect (code
// flow, PKCE, nonce, a signed ID token) and sees the campaign's status,
// KPIs, overdue reviewers, escalations and the decision log.
func TestOwnerSignsIn(t *testing.T) {
	opt, provider := withOIDC(t, "grace@acme.example", false, nil)
	e := newEnv(t, opt)
	// Some history: carol decides, liam does nothing and his items escalate
	// past the deadline.
	carol := e.browser(t, "203.0.113.5")
	carol.open(e.links["carol@acme.example"])
	carol.post("/review/1/decide", url.Values{"item": {"1"}, "decision": {"certify"}, "justification": {"deploys production"}})
	carol.post("/review/1/bulk", url.Values{"item": {"6", "7"}, "decision": {"revoke"}, "justification": {"dan left"}})
	e.clock.add(15 * 24 * time.Hour)
	if _, err := e.svc.Remind(context.Background(), e.cid, campaign.SendOptions{Actor: "operator"}); err != nil {
		t.Fatal(err)
	}

	b := e.browser(t, "198.51.100.20")
	r := b.signIn("/owner/1")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<meta http-equiv="refresh" content="0; url=/owner/1">`) || (*provider).Tokens() != 1 {
		t.Fatalf("callback = %d, tokens %d\n%s", r.StatusCode, (*provider).Tokens(), r.body)
	}
	if cs := r.Cookies(); len(cs) < 1 || cs[len(cs)-1].Name != "nhiscan_session" || cs[len(cs)-1].SameSite != http.SameSiteStrictMode {
		t.Errorf("cookies after sign-in: %+v", cs)
	}
	r = b.get("/owner")
	checkHeaders(t, "owner list", r)
	contains(t, "owner list", r.body, "Signed in as <strong>grace@acme.example</strong>", `<a href="/owner/1">1: Q4 NHI review</a>`)
	r = b.get("/owner/1")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/owner/1 = %d", r.StatusCode)
	}
	checkPage(t, "owner list", b.get("/owner").body)
	checkPage(t, "owner campaign", r.body)
	contains(t, "owner campaign", r.body,
		"<dt>Items</dt><dd>13</dd>", "<dt>Certified</dt><dd>5</dd>", "<dt>Revoked</dt><dd>2</dd>", "<dt>Overdue</dt><dd>6</dd>",
		"Reviewers (1 overdue)", `<th scope="row">grace@acme.example</th><td>6</td><td>6</td><td>6 <span class="badge late">overdue</span>`,
		"<h2>Escalations</h2>", "<tr><td>8</td><td>payments-runtime</td><td>grace@acme.example</td><td>2026-11-16</td><td>open</td></tr>",
		"certified", "deploys production", "203.0.113.5", `<span class="badge">bulk</span>`, "revoked", "dan left")
	lacks(t, "owner campaign", r.body, "<script>alert", "client-secret-value")
	// grace is no reviewer here (reviewers: false): no review page.
	if r := b.get("/review/1"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("owner's /review/1 = %d", r.StatusCode)
	}
	// Unknown campaign.
	if r := b.get("/owner/9"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/owner/9 = %d", r.StatusCode)
	}
}

// TestSignInRefusals: a callback this browser did not start, a replayed
// one, a token for another client, with another nonce, expired, or
// without a verified email, and a person who may open nothing: each is
// refused and opens no session.
func TestSignInRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		email  string
		claims func(map[string]any)
		text   string
	}{
		{"audience", "grace@acme.example", func(m map[string]any) { m["aud"] = "someone-else" }, "did not verify"},
		{"nonce", "grace@acme.example", func(m map[string]any) { m["nonce"] = "another" }, "did not verify"},
		{"expired", "grace@acme.example", func(m map[string]any) { m["exp"] = t0.Add(-time.Minute).Unix() }, "did not verify"},
		{"issuer", "grace@acme.example", func(m map[string]any) { m["iss"] = "https://evil.example" }, "did not verify"},
		{"unverified", "grace@acme.example", func(m map[string]any) { m["email_verified"] = false }, "did not give a verified email"},
		{"not an owner", "mallory@acme.example", nil, "neither a campaign owner nor (here) a reviewer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt, _ := withOIDC(t, c.email, false, c.claims)
			e := newEnv(t, opt)
			b := e.browser(t, "198.51.100.30")
			r := b.signIn("/owner")
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, c.text) {
				t.Errorf("callback = %d\n%s", r.StatusCode, r.body)
			}
			if r := b.get("/owner"); r.StatusCode != http.StatusSeeOther {
				t.Errorf("/owner after a refused sign-in = %d", r.StatusCode)
			}
		})
	}
	opt, _ := withOIDC(t, "grace@acme.example", false, nil)
	e := newEnv(t, opt)
	// The callback arrives in another browser (login CSRF), or twice.
	b := e.browser(t, "198.51.100.31")
	r := b.get("/auth/login?next=/owner")
	resp, err := http.Get(r.Header.Get("Location")) // follows to our callback, without b's login cookie
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback in another browser = %d", resp.StatusCode)
	}
	if r := b.get("/auth/callback?state=made-up&code=x"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("made-up state = %d", r.StatusCode)
	}
	ok := e.browser(t, "198.51.100.32")
	r = ok.get("/auth/login")
	auth, _ := url.Parse(r.Header.Get("Location"))
	resp, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(auth.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if r := ok.get(back.RequestURI()); r.StatusCode != http.StatusOK {
		t.Fatalf("callback = %d", r.StatusCode)
	}
	if r := ok.get(back.RequestURI()); r.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback = %d", r.StatusCode)
	}
	// next= stays on this server.
	for _, next := range []string{"//evil.example/x", "/\t/evil.example", "/\\evil.example", "https://evil.example/owner", "javascript:alert(1)", "/owner/../../x"} {
		r = ok.get("/auth/login?next=" + url.QueryEscape(next))
		auth, _ = url.Parse(r.Header.Get("Location"))
		resp, _ = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(auth.String())
		resp.Body.Close()
		back, _ = url.Parse(resp.Header.Get("Location"))
		if r := ok.get(back.RequestURI()); !strings.Contains(r.body, `url=/owner"`) {
			t.Errorf("next=%q was followed:\n%s", next, r.body)
		}
	}
}

// TestReviewerSignsIn: with reviewers enabled, a reviewer signs in instead
// of following a link, sees their campaigns and their own items only, and
// decides; the owner's view stays closed to them.
func TestReviewerSignsIn(t *testing.T) {
	opt, _ := withOIDC(t, "alice@acme.example", true, nil)
	e := newEnv(t, opt)
	b := e.browser(t, "198.51.100.40")
	if r := b.signIn(""); !strings.Contains(r.body, "url=/review") {
		t.Fatalf("reviewer sign-in goes to %s", r.body)
	}
	r := b.get("/review")
	contains(t, "reviewer's campaigns", r.body, `<a href="/review/1">Q4 NHI review</a>: 2 of 2 items open`)
	checkPage(t, "reviewer's campaigns", r.body)
	r = b.get("/review/1")
	contains(t, "alice's page", r.body, "carol-release-token", "Conflict of interest")
	lacks(t, "alice's page", r.body, "platform-deployer")
	if r := b.get("/review/1/items/1"); r.StatusCode != http.StatusNotFound {
		t.Errorf("carol's item = %d", r.StatusCode)
	}
	if r := b.get("/review/7"); r.StatusCode != http.StatusNotFound {
		t.Errorf("campaign 7 = %d", r.StatusCode)
	}
	if r := b.post("/review/1/decide", url.Values{"item": {"13"}, "decision": {"certify"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("decide = %d\n%s", r.StatusCode, r.body)
	}
	if ds := e.decisions(t); len(ds) != 1 || ds[0].Reviewer != "alice@acme.example" || ds[0].Client != "198.51.100.40" {
		t.Errorf("decisions %+v", ds)
	}
	if r := b.get("/owner"); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "not among the campaign owners") {
		t.Errorf("/owner for a reviewer = %d", r.StatusCode)
	}
}

// TestBadCallbacksRateLimited: failed sign-in callbacks count against the
// client like bad links; once the limit is reached even a good callback
// is refused.
func TestBadCallbacksRateLimited(t *testing.T) {
	opt, _ := withOIDC(t, "grace@acme.example", false, nil)
	e := newEnv(t, opt)
	b := e.browser(t, "198.51.100.50")
	for range 10 {
		if r := b.get("/auth/callback?state=guess&code=x"); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("bad callback = %d", r.StatusCode)
		}
	}
	if r := b.signIn("/owner"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("good callback after ten bad ones = %d", r.StatusCode)
	}
	if r := e.browser(t, "198.51.100.51").signIn("/owner"); r.StatusCode != http.StatusOK {
		t.Errorf("another client = %d", r.StatusCode)
	}
}
