package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/web"
)

// TestNoItemOfAnotherReviewer tries every item of the campaign with every
// other reviewer's session, to read (the item page) and to decide (one
// decision, and a bulk one), and another campaign id: each is refused the
// same way, and nothing is recorded.
func TestNoItemOfAnotherReviewer(t *testing.T) {
	e := newEnv(t)
	byReviewer := e.reviewerItems(t)
	if len(byReviewer) < 3 {
		t.Fatalf("want at least 3 reviewers, got %d", len(byReviewer))
	}
	tries := 0
	for reviewer := range byReviewer {
		b := e.browser(t, "203.0.113.9")
		b.open(e.links[reviewer])
		for other, items := range byReviewer {
			if other == reviewer {
				continue
			}
			for _, it := range items {
				n := strconv.Itoa(it.ID)
				refused := func(what string, r response) {
					t.Helper()
					tries++
					if r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "There is no such item among yours") {
						t.Errorf("%s: %s of %s's item %d = %d", reviewer, what, other, it.ID, r.StatusCode)
					}
					if strings.Contains(r.body, it.IdentityName) && it.IdentityName != "" {
						t.Errorf("%s: %s of item %d shows its identity %q", reviewer, what, it.ID, it.IdentityName)
					}
				}
				refused("read", b.get("/review/1/items/"+n))
				for _, k := range []string{"certify", "revoke", "reduce", "reassign", "dont-know"} {
					refused("decide "+k, b.post("/review/1/decide", url.Values{"item": {n}, "decision": {k}, "justification": {"x"},
						"reassign_to": {reviewer}, "grant": {it.GrantID}}))
				}
				// A bulk with one own item and the other's.
				own := strconv.Itoa(byReviewer[reviewer][0].ID)
				refused("bulk", b.post("/review/1/bulk", url.Values{"item": {own, n}, "decision": {"certify"}, "justification": {"x"}}))
			}
		}
		// Another campaign, whether it exists or not.
		for _, p := range []string{"/review/2", "/review/0", "/review/x", "/review/2/items/1"} {
			if r := b.get(p); r.StatusCode != http.StatusNotFound {
				t.Errorf("%s: GET %s = %d", reviewer, p, r.StatusCode)
			}
		}
		if r := b.post("/review/2/decide", url.Values{"item": {"1"}, "decision": {"certify"}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: decide in campaign 2 = %d", reviewer, r.StatusCode)
		}
	}
	if n := len(e.decisions(t)); n != 0 {
		t.Fatalf("%d decisions recorded", n)
	}
	t.Logf("%d refused attempts", tries)
	// Items that do not exist are refused the same way.
	b := e.browser(t, "203.0.113.9")
	b.open(e.links["alice@acme.example"])
	for _, n := range []string{"0", "99", "-1", "x"} {
		if r := b.post("/review/1/decide", url.Values{"item": {n}, "decision": {"certify"}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("decide on item %s = %d", n, r.StatusCode)
		}
	}
}

// TestBadLinks: an expired, a tampered and a foreign link are refused,
// each with its own page, and repeated bad links are rate-limited per
// client, even for a good link, until the bucket refills.
func TestBadLinks(t *testing.T) {
	e := newEnv(t)
	good := e.links["carol@acme.example"]
	expired := e.signer.Sign(campaign.Claims{CampaignID: e.cid, Reviewer: "carol@acme.example", Expires: t0.Add(-time.Minute)})
	other, _ := campaign.NewSigner([]byte("another key, also 32 bytes long or more"))
	foreign := other.Sign(campaign.Claims{CampaignID: e.cid, Reviewer: "carol@acme.example", Expires: t0.AddDate(0, 0, 30)})
	payload, mac, _ := strings.Cut(strings.TrimPrefix(good, "v1."), ".")
	// The same MAC over a payload naming another reviewer.
	forged := "v1." + strings.Replace(payload, payload[:4], "MQpsaWFt", 1) + "." + mac
	b := e.browser(t, "203.0.113.20")
	for _, c := range []struct {
		name, tok string
		status    int
		text      string
	}{
		{"expired", expired, http.StatusGone, "This link has expired"},
		{"tampered", forged, http.StatusForbidden, "This link is not valid"},
		{"foreign key", foreign, http.StatusForbidden, "This link is not valid"},
		{"truncated", good[:len(good)-3], http.StatusForbidden, "This link is not valid"},
		{"garbage", "hello", http.StatusForbidden, "This link is not valid"},
	} {
		r := b.get("/review?t=" + url.QueryEscape(c.tok))
		if r.StatusCode != c.status || !strings.Contains(r.body, c.text) || strings.Contains(r.body, "Open my review") {
			t.Errorf("%s link: GET = %d", c.name, r.StatusCode)
		}
		if r := b.post("/review/session", url.Values{"t": {c.tok}}); r.StatusCode != c.status || len(r.Cookies()) != 0 {
			t.Errorf("%s link: exchange = %d, cookies %v", c.name, r.StatusCode, r.Cookies())
		}
	}
	// Ten bad links (the burst) are used up: the next, even a good one, is
	// refused with Retry-After. Another client is not affected.
	r := b.get("/review?t=" + url.QueryEscape(good))
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("good link after ten bad ones = %d", r.StatusCode)
	}
	if r := e.browser(t, "203.0.113.21").get("/review?t=" + url.QueryEscape(good)); r.StatusCode != http.StatusOK {
		t.Errorf("another client = %d", r.StatusCode)
	}
	// One bad link is forgiven every six seconds.
	e.clock.add(6 * time.Second)
	if r := b.get("/review?t=" + url.QueryEscape(good)); r.StatusCode != http.StatusOK {
		t.Errorf("after six seconds = %d", r.StatusCode)
	}
	// Without a trusted proxy, X-Forwarded-For names nobody: the peer is
	// the client.
	direct := newEnv(t, func(c *web.Config, _ string) { c.TrustedProxies = nil })
	for i := range 10 {
		direct.browser(t, fmt.Sprintf("198.51.100.%d", i)).get("/review?t=bad")
	}
	if r := direct.browser(t, "198.51.100.99").get("/review?t=" + url.QueryEscape(direct.links["carol@acme.example"])); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("spoofed X-Forwarded-For escaped the limit: %d", r.StatusCode)
	}
}

// TestCrossOriginRefused: a state change sent from another site is refused
// (http.CrossOriginProtection) and records nothing.
func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t, "203.0.113.5")
	b.open(e.links["carol@acme.example"])
	form := url.Values{"item": {"5"}, "decision": {"certify"}}
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		if r := b.do(http.MethodPost, "/review/1/decide", form, h...); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "sent from another site") {
			t.Errorf("decide with %s: %s = %d", h[0], h[1], r.StatusCode)
		}
		if r := b.do(http.MethodPost, "/review/1/bulk", url.Values{"item": {"5"}, "decision": {"certify"}}, h...); r.StatusCode != http.StatusForbidden {
			t.Errorf("bulk with %s: %s = %d", h[0], h[1], r.StatusCode)
		}
		if r := b.do(http.MethodPost, "/review/session", url.Values{"t": {e.links["carol@acme.example"]}}, h...); r.StatusCode != http.StatusForbidden {
			t.Errorf("exchange with %s: %s = %d", h[0], h[1], r.StatusCode)
		}
	}
	if n := len(e.decisions(t)); n != 0 {
		t.Fatalf("%d decisions recorded", n)
	}
	if r := b.do(http.MethodPost, "/review/1/decide", form, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin decide = %d", r.StatusCode)
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for _, c := range []struct {
		peer   string
		header []string
		want   string
	}{
		{"203.0.113.5:4000", nil, "203.0.113.5"},
		{"203.0.113.5:4000", []string{"X-Forwarded-For", "198.51.100.1"}, "203.0.113.5"}, // not a trusted peer
		{"10.1.2.3:4000", []string{"X-Forwarded-For", "198.51.100.1"}, "198.51.100.1"},
		{"10.1.2.3:4000", []string{"X-Forwarded-For", "192.0.2.66, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"}, // rightmost untrusted
		{"10.1.2.3:4000", []string{"X-Forwarded-For", "garbage, 10.9.9.9"}, "10.9.9.9"},
		{"10.1.2.3:4000", []string{"Forwarded", `for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`}, "192.0.2.60"},
		{"10.1.2.3:4000", []string{"Forwarded", `for=198.51.100.17`, "X-Forwarded-For", "192.0.2.1"}, "198.51.100.17"}, // Forwarded wins
		{"10.1.2.3:4000", []string{"Forwarded", `for=unknown`}, "10.1.2.3"},
		{"[2001:db8::7]:443", []string{"X-Forwarded-For", "[2001:db8:1::1]:80, 2001:db8::9"}, "2001:db8:1::1"},
		{"[::ffff:10.0.0.1]:80", []string{"X-Forwarded-For", "::ffff:203.0.113.9"}, "203.0.113.9"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		for i := 0; i+1 < len(c.header); i += 2 {
			r.Header.Add(c.header[i], c.header[i+1])
		}
		if got := web.ClientAddr(r, trusted).String(); got != c.want {
			t.Errorf("%s %v = %s, want %s", c.peer, c.header, got, c.want)
		}
	}
}

// TestHostileStringsEscaped: names from cloud APIs reach the page escaped:
// no markup runs, and bidi overrides and control characters are visible.
func TestHostileStringsEscaped(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t, "203.0.113.5")
	b.open(e.links["liam@acme.example"])
	r := b.get("/review/1")
	contains(t, "liam's page", r.body, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\\u202etxt.exe")
	lacks(t, "liam's page", r.body, "<script>alert", "\u202e")
}
