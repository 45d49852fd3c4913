package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/web"
)

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func checkHeaders(t *testing.T, what string, r response) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY", "Cache-Control": "no-store",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
}

func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func lacks(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Errorf("%s contains %q", what, w)
		}
	}
}

// TestLinkBecomesASession: a link shows whose review it opens; only the
// same-site POST of that page makes a session (HttpOnly, SameSite=Strict,
// bounded), and the browser goes on to a URL without the token.
func TestLinkBecomesASession(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t, "203.0.113.5")
	tok := e.links["carol@acme.example"]
	r := b.get("/review?t=" + url.QueryEscape(tok))
	checkHeaders(t, "landing", r)
	contains(t, "landing", r.body, "carol@acme.example", "Q4 NHI review", `action="/review/session"`, `name="t" value="`+tok+`"`)
	if r.StatusCode != http.StatusOK || len(r.Cookies()) != 0 {
		t.Fatalf("landing = %d with cookies %v: a GET must not sign anyone in", r.StatusCode, r.Cookies())
	}
	r = b.post("/review/session", url.Values{"t": {tok}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/review/1" {
		t.Fatalf("exchange = %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	cs := r.Cookies()
	if len(cs) != 1 || cs[0].Name != "nhiscan_session" || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" ||
		cs[0].MaxAge <= 0 || cs[0].MaxAge > int((12*time.Hour).Seconds()) || len(cs[0].Value) < 40 {
		t.Fatalf("session cookie %+v", cs)
	}
	if r := b.get("/review"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/review/1" {
		t.Errorf("/review = %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = b.get("/review/1")
	checkHeaders(t, "review page", r)
	contains(t, "review page", r.body, "Review by <strong>carol@acme.example</strong>", "0 of 7 items decided", "2026-11-16", "14 days left",
		`id="item-1"`, `id="item-7"`, "platform: Runs the platform", "1 of 2 entitlement(s) outside the baseline of role platform",
		"unknown, not observed: usage:credential-report: iam:GenerateCredentialReport denied", "dormant-credential", "days_unused=150",
		"dan@acme.example has left", "Reassign to another owner", `<option value="alice@acme.example">Alice Nguyen &lt;alice@acme.example&gt;</option>`)
	lacks(t, "review page", r.body, `id="item-8"`, "payments-runtime", `<option value="carol@acme.example"`, `<option value="dan@acme.example"`)
	// One item on its own page, and back to it after deciding there.
	r = b.get("/review/1/items/4")
	contains(t, "item page", r.body, `id="item-4"`, "grant of platform-deployer on 111111111111", `name="back" value="item"`, `href="/review/1">All your items`)
	lacks(t, "item page", r.body, `id="item-1"`, `id="item-5"`, `id="bulk"`)
	r = b.post("/review/1/decide", url.Values{"item": {"5"}, "decision": {"reduce"}, "back": {"item"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/review/1/items/5" {
		t.Errorf("decide from the item page = %d to %q", r.StatusCode, r.Header.Get("Location"))
	}

	// The same, served over https: the cookie is Secure with the __Host-
	// prefix, and HSTS is on.
	s := newEnv(t, func(c *web.Config, _ string) { c.Secure = true })
	r = s.browser(t, "203.0.113.5").post("/review/session", url.Values{"t": {s.links["carol@acme.example"]}})
	if cs := r.Cookies(); len(cs) != 1 || cs[0].Name != "__Host-nhiscan_session" || !cs[0].Secure || r.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("secure cookie %+v, HSTS %q", cs, r.Header.Get("Strict-Transport-Security"))
	}
}

// TestDecisionsWithoutJavaScript: every decision is a plain form post
// answered with a redirect (or the page again, with the refusal); each is
// recorded by the campaign with the reviewer, the time, source web and the
// client address, and audited.
func TestDecisionsWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	carol := e.browser(t, "203.0.113.5")
	carol.open(e.links["carol@acme.example"])

	// A privileged identity needs a justification: the page comes back
	// with the refusal at the item and what was entered.
	r := carol.post("/review/1/decide", url.Values{"item": {"1"}, "decision": {"certify"}, "until": {"2027-03-31"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("certify without justification = %d", r.StatusCode)
	}
	contains(t, "refused page", r.body, `id="error-1" role="alert">item 1: justification required`, `value="certify" required checked`, `value="2027-03-31"`)
	if n := len(e.decisions(t)); n != 0 {
		t.Fatalf("%d decisions recorded after a refusal", n)
	}
	e.clock.add(30 * time.Minute)
	r = carol.post("/review/1/decide", url.Values{"item": {"1"}, "decision": {"certify"}, "until": {"2027-03-31"},
		"justification": {"deploys production; admin is reviewed quarterly"}, "reassign_to": {"alice@acme.example"}, "grant": {"x"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/review/1#item-1" {
		t.Fatalf("certify = %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	r = carol.get("/review/1")
	contains(t, "page after certify", r.body, `role="status"><p>Recorded: item 1 certified until 2027-03-31.</p>`, "5 of 7 items decided",
		"covered by item 1: certified", "certified by carol@acme.example, 2026-11-02 09:30 UTC, until 2027-03-31")
	if r := carol.get("/review/1"); strings.Contains(r.body, "Recorded: item 1") {
		t.Error("the confirmation is shown twice")
	}
	// A leaver's key revoked; the leaver's identity reassigned to a
	// colleague, who then holds it.
	carol.post("/review/1/decide", url.Values{"item": {"7"}, "decision": {"revoke"}, "justification": {"dan left: rotate"}})
	r = carol.post("/review/1/decide", url.Values{"item": {"6"}, "decision": {"reassign"}, "reassign_to": {"alice@acme.example"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reassign = %d\n%s", r.StatusCode, r.body)
	}
	// liam reduces his role by its grant and does not know the hostile
	// account (it goes to his manager).
	liam := e.browser(t, "198.51.100.7")
	liam.open(e.links["liam@acme.example"])
	if r := liam.post("/review/1/decide", url.Values{"item": {"8"}, "decision": {"reduce"}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "item 8: choose the grants to remove") {
		t.Errorf("reduce without grants = %d", r.StatusCode)
	}
	liam.post("/review/1/decide", url.Values{"item": {"8"}, "decision": {"reduce"}, "grant": {"managed-policy:ReadOnlyAccess"}})
	liam.post("/review/1/decide", url.Values{"item": {"10"}, "decision": {"dont-know"}})
	// alice certifies her two items in one bulk decision, from the item page.
	alice := e.browser(t, "192.0.2.44")
	alice.open(e.links["alice@acme.example"])
	r = alice.post("/review/1/bulk", url.Values{"item": {"12", "13"}, "decision": {"certify"}, "justification": {"release token, still used"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk = %d\n%s", r.StatusCode, r.body)
	}
	contains(t, "page after bulk", alice.get("/review/1").body, "Recorded: 2 item(s) certified, as one bulk decision.",
		"dan-scripts", "3 of 4 items decided") // the reassigned leaver item is alice's now, and open
	alice.post("/review/1/decide", url.Values{"item": {"6"}, "decision": {"certify"}, "justification": {"I run dan's scripts now"}})
	contains(t, "page when all is decided", alice.get("/review/1").body, "All done", "All 4 of your items in this campaign are decided")
	lacks(t, "liam's page", liam.get("/review/1").body, `id="item-10"`)

	got := e.decisions(t)
	type row struct {
		Item           int
		Reviewer, Kind string
		To, Client     string
		Grants         []string
		Bulk           bool
	}
	var rows []row
	for _, d := range got {
		if d.Source != "web" || d.At.IsZero() {
			t.Errorf("decision %d: source %q at %v", d.ID, d.Source, d.At)
		}
		rows = append(rows, row{d.ItemID, d.Reviewer, string(d.Kind), d.ReassignTo, d.Client, d.Grants, d.Bulk()})
	}
	want := []row{
		{1, "carol@acme.example", "certify", "", "203.0.113.5", nil, false},
		{7, "carol@acme.example", "revoke", "", "203.0.113.5", nil, false},
		{6, "carol@acme.example", "reassign", "alice@acme.example", "203.0.113.5", nil, false},
		{8, "liam@acme.example", "reduce", "", "198.51.100.7", []string{"managed-policy:ReadOnlyAccess"}, false},
		{10, "liam@acme.example", "dont-know", "", "198.51.100.7", nil, false},
		{12, "alice@acme.example", "certify", "", "192.0.2.44", nil, true},
		{13, "alice@acme.example", "certify", "", "192.0.2.44", nil, true},
		{6, "alice@acme.example", "certify", "", "192.0.2.44", nil, false},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if got[5].BulkID != got[6].BulkID || !got[0].Until.Equal(time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)) || got[0].Justification == "" {
		t.Errorf("bulk ids %q %q, until %v", got[5].BulkID, got[6].BulkID, got[0].Until)
	}
	audit, err := e.st.AuditEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, a := range audit {
		if a.Action == "campaign.decision" {
			audited = append(audited, a.Actor+" "+a.Subject+" "+a.Detail["decision"]+" "+a.Detail["client"]+" "+a.Detail["source"]+" "+a.At.Format(time.RFC3339))
		}
	}
	if len(audited) != 8 || audited[0] != "carol@acme.example campaign:1/item:1 certify 203.0.113.5 web 2026-11-02T09:30:00Z" {
		t.Errorf("audit entries:\n%s", strings.Join(audited, "\n"))
	}
}

// TestBulkRefusals: a bulk decision with nothing chosen, or one that
// does not fit every chosen item, records nothing and keeps the choice.
func TestBulkRefusals(t *testing.T) {
	e := newEnv(t)
	carol := e.browser(t, "203.0.113.5")
	carol.open(e.links["carol@acme.example"])
	r := carol.post("/review/1/bulk", url.Values{"decision": {"certify"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "select at least one item") {
		t.Errorf("empty bulk = %d", r.StatusCode)
	}
	r = carol.post("/review/1/bulk", url.Values{"item": {"2", "4"}, "decision": {"revoke"}, "justification": {"x"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "item 4: invalid decision: a grant is removed with reduce, not revoke") {
		t.Errorf("bulk revoke of a grant = %d\n%s", r.StatusCode, r.body)
	}
	contains(t, "refused bulk", r.body, `value="2" id="select-2" checked`, `value="4" id="select-4" checked`, `value="revoke" checked`)
	r = carol.post("/review/1/bulk", url.Values{"item": {"5"}, "decision": {"certify"}, "until": {"next year"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `certified until &#34;next year&#34;: want a date`) {
		t.Errorf("bulk until = %d", r.StatusCode)
	}
	if n := len(e.decisions(t)); n != 0 {
		t.Errorf("%d decisions recorded", n)
	}
}

// TestClosedCampaignTakesNoDecision: once closed, the page says so and a
// decision posted anyway is not recorded.
func TestClosedCampaignTakesNoDecision(t *testing.T) {
	e := newEnv(t)
	carol := e.browser(t, "203.0.113.5")
	carol.open(e.links["carol@acme.example"])
	if _, err := e.svc.Close(context.Background(), e.cid, "operator"); err != nil {
		t.Fatal(err)
	}
	before := len(e.decisions(t))
	r := carol.post("/review/1/decide", url.Values{"item": {"5"}, "decision": {"certify"}})
	if r.StatusCode != http.StatusSeeOther || len(e.decisions(t)) != before {
		t.Fatalf("decide on a closed campaign = %d, decisions %d -> %d", r.StatusCode, before, len(e.decisions(t)))
	}
	r = carol.get("/review/1")
	contains(t, "closed page", r.body, "Campaign 1 is closed: it takes no more decisions.", "This campaign is closed: it takes no decisions now.")
	lacks(t, "closed page", r.body, `action="/review/1/decide"`, `id="bulk"`)
}

// TestSessionEnds: a session ends after an hour idle, and never outlives
// its link.
func TestSessionEnds(t *testing.T) {
	e := newEnv(t)
	carol := e.browser(t, "203.0.113.5")
	carol.open(e.links["carol@acme.example"])
	e.clock.add(59 * time.Minute)
	if r := carol.get("/review/1"); r.StatusCode != http.StatusOK {
		t.Fatalf("after 59 minutes = %d", r.StatusCode)
	}
	e.clock.add(time.Hour)
	if r := carol.get("/review/1"); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Your review session has ended") {
		t.Fatalf("after an idle hour = %d", r.StatusCode)
	}
	// A link that expires in ten minutes makes a session of ten minutes.
	short := e.signer.Sign(campaign.Claims{CampaignID: e.cid, Reviewer: "carol@acme.example", Expires: e.clock.now().Add(10 * time.Minute)})
	carol.open(short)
	e.clock.add(11 * time.Minute)
	if r := carol.get("/review/1"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the link expired = %d", r.StatusCode)
	}
	// Signing out ends it at once.
	carol.open(e.links["carol@acme.example"])
	if r := carol.post("/auth/logout", url.Values{}); r.StatusCode != http.StatusOK {
		t.Fatalf("logout = %d", r.StatusCode)
	}
	if r := carol.get("/review/1"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout = %d", r.StatusCode)
	}
}

// TestConflictedReviewerCannotDecide: an overdue item is never escalated
// to the person it was routed around for a conflict (carol, whose own token
// alice reviews, is alice's manager): it goes to the fallback, and carol can
// neither read nor decide it.
func TestConflictedReviewerCannotDecide(t *testing.T) {
	e := newEnv(t)
	e.clock.add(15 * 24 * time.Hour)
	if _, err := e.svc.Remind(context.Background(), e.cid, campaign.SendOptions{Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	carol := e.browser(t, "203.0.113.5")
	tok := e.signer.Sign(campaign.Claims{CampaignID: e.cid, Reviewer: "carol@acme.example", Expires: e.clock.now().Add(time.Hour)})
	carol.open(tok)
	if r := carol.get("/review/1/items/12"); r.StatusCode == http.StatusOK || strings.Contains(r.body, "carol-release-token") {
		t.Errorf("the conflicted owner reads her own token's item: %d", r.StatusCode)
	}
	r := carol.post("/review/1/decide", url.Values{"item": {"12"}, "decision": {"certify"}, "justification": {"mine"}})
	if r.StatusCode == http.StatusOK || r.StatusCode == http.StatusSeeOther || len(e.decisions(t)) != 0 {
		t.Errorf("decide = %d, %d decisions", r.StatusCode, len(e.decisions(t)))
	}
}
