package web_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/notify"
	"github.com/nhiscan/nhiscan/internal/notify/smtptest"
	"github.com/nhiscan/nhiscan/internal/web"
	"github.com/nhiscan/nhiscan/internal/web/oidctest"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the screenshots in docs/ from the Chromium test")

// chromium returns the browser to test with: $NHISCAN_TEST_CHROMIUM
// (which .ci/run sets, and which makes the browser required), else
// /usr/bin/chromium when present; otherwise the test is skipped, saying so.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("NHISCAN_TEST_CHROMIUM")
	required := p != ""
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if required {
			t.Fatalf("NHISCAN_TEST_CHROMIUM=%s: %v", p, err)
		}
		t.Skipf("SKIPPED: no Chromium at %s: the real-browser tests of the review page need it "+
			"(apt-get install chromium; .ci/run installs it and sets NHISCAN_TEST_CHROMIUM)", p)
	}
	return p
}

// newChromium starts a headless Chromium with a profile of its own and
// returns a context for its first tab, bounded to five minutes (a loaded CI machine is slow).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// navigate runs steps that load a page and returns the page's response.
func navigate(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) *network.Response {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitFor waits until a JavaScript condition holds on the current page,
// across navigations (an evaluation during one is retried).
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			t.Fatalf("waiting for %s at %s: %v\n%s", js, loc, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

// mailHTML returns the HTML part of a received message.
func mailHTML(t *testing.T, data []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err != nil {
			t.Fatalf("no HTML part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			var body io.Reader = p
			if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
				body = quotedprintable.NewReader(p)
			}
			b, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

// browserEnv is the campaign with real mail: the invitations go over SMTP
// to an in-process server, with links to the review server; an in-process
// OpenID provider on another site signs the campaign owner in.
type browserEnv struct {
	st    *mailStore
	base  string
	mails map[string]string // reviewer -> the HTML of their invitation
}

type mailStore struct {
	e   *env
	svc *campaign.Service
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	c := &clock{t: t0}
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	base := "http://" + ts.Listener.Addr().String()
	mailSrv := smtptest.Start(t, smtptest.Options{})
	tr, err := notify.NewSMTP(notify.SMTPConfig{Host: mailSrv.Host, Port: mailSrv.Port, TLS: notify.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	mailer := &notify.Mailer{From: "nhiscan <nhiscan@acme.example>", Transports: []notify.Transport{tr}}
	st, svc, cid := newStore(t, c, mailer, base+"/review")
	if _, err := svc.Send(context.Background(), cid, campaign.SendOptions{Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	msgs, err := mailSrv.Wait(3, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	be := &browserEnv{base: base, mails: map[string]string{}}
	for _, m := range msgs {
		be.mails[m.To[0]] = mailHTML(t, m.Data)
	}
	idp, err := oidctest.New(oidctest.Options{ClientID: "nhiscan", ClientSecret: "oidc-client-secret", RedirectURL: base + "/auth/callback",
		Email: "grace@acme.example", EmailVerified: true, Name: "Grace Kim", Host: "localhost", Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	srv, err := web.New(context.Background(), web.Config{Campaigns: web.Service{Service: svc, Lister: st}, Signer: svc.Signer,
		People: webCatalog().People, Now: c.now, OIDC: &web.OIDC{Issuer: idp.Issuer, ClientID: "nhiscan", ClientSecret: "oidc-client-secret",
			RedirectURL: base + "/auth/callback", AllowedOwners: []string{"grace@acme.example"}, HTTPClient: idp.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	be.st = &mailStore{e: &env{st: st, svc: svc, clock: c, signer: svc.Signer, cid: cid}, svc: svc}
	return be
}

// webmail serves a message's HTML from another site (localhost, while the
// review server is 127.0.0.1), the way a mail client shows it.
func webmail(t *testing.T, html string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, html)
	}))
	t.Cleanup(s.Close)
	return strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
}

func screenshot(t *testing.T, ctx context.Context, name string, width, height int64) {
	t.Helper()
	if !*updateScreenshots {
		return
	}
	do(t, ctx, chromedp.EmulateViewport(width, height), chromedp.Evaluate[chromedp.Void]("window.scrollTo(0, 0)"))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/%s", name)
}

// TestBrowserReview opens the review link of a real invitation in
// headless Chromium, from a mail page on another site, and decides as a
// reviewer would: one item certified, another revoked with the keyboard
// alone, the rest certified in bulk with "select all"; then checks the
// store and the audit log, that expired, tampered and foreign links and
// another reviewer's item are refused, that the page fits a phone, and the
// campaign owner's sign-in and view.
func TestBrowserReview(t *testing.T) {
	ctx := newChromium(t)
	be := newBrowserEnv(t)
	e := be.st.e

	// The invitation, shown by a mail client on another site: its link.
	html := be.mails["carol@acme.example"]
	if !strings.Contains(html, be.base+"/review?t=") {
		t.Fatalf("carol's invitation has no link to %s:\n%s", be.base, html)
	}
	do(t, ctx, chromedp.EmulateViewport(1200, 900))
	navigate(t, ctx, chromedp.Navigate(webmail(t, html)))
	resp := navigate(t, ctx, chromedp.Click(chromedp.CSS(`a[href*="/review?t="]`)))
	if resp.Status != http.StatusOK || resp.Headers["Content-Security-Policy"] != csp {
		t.Fatalf("landing = %d, CSP %v", resp.Status, resp.Headers["Content-Security-Policy"])
	}
	waitFor(t, ctx, `!location.search.includes("t=")`) // the script takes the token out of the address bar
	resp = navigate(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/review/session"] button`)))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if resp.Status != http.StatusOK || loc != be.base+"/review/1" {
		t.Fatalf("after opening: %d at %s", resp.Status, loc)
	}
	if got := text(t, ctx, "h1"); got != "Q4 NHI review" {
		t.Errorf("h1 = %q", got)
	}
	if got := text(t, ctx, "#progress-text"); got != "0 of 7 items decided" {
		t.Errorf("progress = %q", got)
	}
	// On a phone the page fits the width: nothing scrolls sideways.
	do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	if !eval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Errorf("the page is %v px wide on a 390 px screen", eval[float64](t, ctx, `document.documentElement.scrollWidth`))
	}
	screenshot(t, ctx, "review-page-phone.png", 390, 1400)
	do(t, ctx, chromedp.EmulateViewport(1200, 900))
	// The script shows only the fields of the chosen decision.
	if eval[bool](t, ctx, `!document.querySelector('#item-1 [data-for=reassign]').hidden`) {
		t.Error("the reassign field shows before reassign is chosen")
	}

	// Certify item 2 (a key) with the mouse.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#item-2 input[name=decision][value=certify]`)))
	if !eval[bool](t, ctx, `document.querySelector('#justification-2').required`) {
		t.Error("the justification of a privileged item is not required once certify is chosen")
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#justification-2`), "still used by the deploy pipeline"))
	navigate(t, ctx, chromedp.Click(chromedp.CSS(`#item-2 form.decide button[type=submit]`)))
	waitFor(t, ctx, `document.querySelector('.flash') && document.querySelector('.flash').innerText.includes('item 2 certified')`)

	// Revoke item 3 (the dormant key) with the keyboard alone: focus its
	// first choice, arrow down to revoke, tab to the justification, type,
	// tab to the button and press Enter. Focus stays visible.
	do(t, ctx, chromedp.Focus(chromedp.CSS(`#item-3 input[name=decision][value=certify]`)), chromedp.KeyEvent(" "), chromedp.KeyEvent(kb.ArrowDown))
	if v := eval[string](t, ctx, `document.querySelector('#item-3 input[name=decision]:checked').value`); v != "revoke" {
		t.Fatalf("arrow down chose %q", v)
	}
	do(t, ctx, chromedp.KeyEvent(kb.Tab))
	if id := eval[string](t, ctx, `document.activeElement.id`); id != "justification-3" {
		t.Fatalf("tab from the choices went to %q, want the justification", id)
	}
	do(t, ctx, chromedp.KeyEvent("dormant for 150 days: nothing uses it"), chromedp.KeyEvent(kb.Tab))
	if tag := eval[string](t, ctx, `document.activeElement.tagName + " " + getComputedStyle(document.activeElement).outlineStyle`); tag != "BUTTON solid" {
		t.Errorf("focused %q, want the submit button with a visible outline", tag)
	}
	navigate(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, `document.querySelector('.flash') && document.querySelector('.flash').innerText.includes('item 3 revoked')`)
	screenshot(t, ctx, "review-page.png", 1200, 1500)

	// The rest in one bulk decision: select all, justify, apply.
	do(t, ctx, chromedp.EmulateViewport(1200, 900), chromedp.Click(chromedp.CSS(`#select-all`)))
	if got := text(t, ctx, "#selected-count"); got != "5 of 5 selected" {
		t.Errorf("selected count = %q", got)
	}
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#bulk-justification`), "reviewed with the platform team"))
	navigate(t, ctx, chromedp.Click(chromedp.CSS(`#bulk-submit`)))
	waitFor(t, ctx, `document.querySelector('.all-done') !== null`)
	if got := text(t, ctx, ".flash"); got != "Recorded: 5 item(s) certified, as one bulk decision." {
		t.Errorf("confirmation = %q", got)
	}
	checkBrowserDecisions(t, e)

	// Refused: an expired link, a tampered one, another reviewer's item
	// (by address, and by a form changed in the page).
	expired := e.signer.Sign(campaign.Claims{CampaignID: e.cid, Reviewer: "carol@acme.example", Expires: t0.Add(-time.Hour)})
	tok := regexp.MustCompile(`/review\?t=([^"&]+)`).FindStringSubmatch(html)[1]
	tampered := tok[:len(tok)-4] + "AAAA"
	for _, c := range []struct {
		path   string
		status int64
		h1     string
	}{
		{"/review?t=" + expired, http.StatusGone, "This link has expired"},
		{"/review?t=" + tampered, http.StatusForbidden, "This link is not valid"},
		{"/review/1/items/8", http.StatusNotFound, "Not found"},
	} {
		resp := navigate(t, ctx, chromedp.Navigate(be.base+c.path))
		if resp.Status != c.status || text(t, ctx, "h1") != c.h1 {
			t.Errorf("%s = %d %q", c.path, resp.Status, text(t, ctx, "h1"))
		}
	}
	navigate(t, ctx, chromedp.Navigate(be.base+"/review/1"))
	resp = navigate(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const f = document.querySelector('form.decide');
		f.querySelector('input[name=item]').value = '8'; f.querySelector('input[value=certify]').checked = true; f.submit(); })()`))
	if resp.Status != http.StatusNotFound || text(t, ctx, "h1") != "Not found" {
		t.Errorf("a form changed to item 8 = %d %q", resp.Status, text(t, ctx, "h1"))
	}
	if n := len(e.decisions(t)); n != 7 {
		t.Errorf("%d decisions after the refusals, want 7", n)
	}

	// The campaign owner signs in at the provider (another site) and sees
	// the campaign's status and the decision log.
	do(t, ctx, chromedp.EmulateViewport(1200, 900))
	navigate(t, ctx, chromedp.Navigate(be.base+"/owner"))
	waitFor(t, ctx, `location.pathname === "/owner" && document.querySelector('h1').innerText === "Campaigns"`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/owner/1"]`)))
	waitFor(t, ctx, `location.pathname === "/owner/1" && document.querySelector('h1').innerText === "Q4 NHI review"`)
	body := text(t, ctx, "main")
	for _, want := range []string{"Signed in as", "Certified\n6", "Revoked\n1", "reviewed with the platform team", "dormant for 150 days", "127.0.0.1", "bulk"} {
		if !strings.Contains(body+text(t, ctx, "header"), want) {
			t.Errorf("owner view lacks %q:\n%s", want, body)
		}
	}
	screenshot(t, ctx, "owner-view.png", 1200, 1300)
}

// checkBrowserDecisions: what the browser decided is in the store and the
// audit log, with the reviewer, the time, source web and the client.
func checkBrowserDecisions(t *testing.T, e *env) {
	t.Helper()
	var got []string
	bulk := map[string]bool{}
	for _, d := range e.decisions(t) {
		got = append(got, fmt.Sprintf("%d %s %s %s %s", d.ItemID, d.Kind, d.Reviewer, d.Source, d.Client))
		if d.BulkID != "" {
			bulk[d.BulkID] = true
		}
	}
	want := []string{
		"2 certify carol@acme.example web 127.0.0.1", "3 revoke carol@acme.example web 127.0.0.1",
		"1 certify carol@acme.example web 127.0.0.1", "4 certify carol@acme.example web 127.0.0.1", "5 certify carol@acme.example web 127.0.0.1",
		"6 certify carol@acme.example web 127.0.0.1", "7 certify carol@acme.example web 127.0.0.1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(bulk) != 1 {
		t.Errorf("decisions:\n%s\nwant:\n%s\n(bulk ids %v)", strings.Join(got, "\n"), strings.Join(want, "\n"), bulk)
	}
	audit, err := e.st.AuditEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range audit {
		if a.Action == "campaign.decision" && a.Actor == "carol@acme.example" && a.Detail["client"] == "127.0.0.1" && a.Detail["source"] == "web" {
			n++
		}
	}
	if n != 7 {
		t.Errorf("%d audited decisions, want 7", n)
	}
	if _, err := e.st.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}
