package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/web"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// hostileName is an identity name from a cloud API that tries to run
// script and to reverse the text around it.
const hostileName = "<script>alert('x')</script>\u202etxt.exe"

// clock is the injected time; handlers read it from other goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func member(id, name, manager, team string) nhi.Person {
	return nhi.Person{ID: id, Name: name, Status: nhi.PersonActive, Manager: manager, Team: team}
}

// webCatalog: carol owns the platform role (alice is its technical owner),
// liam the payments role (bob technical); dan has left and reported to
// carol; grace is at the top and the fallback.
func webCatalog() *catalog.Catalog {
	dan := member("dan@acme.example", "Dan Okafor", "carol@acme.example", "platform")
	dan.Status, dan.Departed = nhi.PersonDeparted, t0.AddDate(0, -1, 0)
	return &catalog.Catalog{
		People: map[string]nhi.Person{
			"alice@acme.example": member("alice@acme.example", "Alice Nguyen", "carol@acme.example", "platform"),
			"bob@acme.example":   member("bob@acme.example", "Bob Martins", "liam@acme.example", "payments"),
			"carol@acme.example": member("carol@acme.example", "Carol Diaz", "grace@acme.example", "platform"),
			"dan@acme.example":   dan,
			"grace@acme.example": member("grace@acme.example", "Grace Kim", "", "security"),
			"liam@acme.example":  member("liam@acme.example", "Liam Wilson", "grace@acme.example", "payments"),
		},
		Roles: []catalog.Role{
			{ID: "platform", Purpose: "Runs the platform", BusinessOwner: "carol@acme.example", TechnicalOwner: "alice@acme.example", Team: "platform"},
			{ID: "payments", Purpose: "Runs payments", BusinessOwner: "liam@acme.example", TechnicalOwner: "bob@acme.example", Team: "payments"},
		},
	}
}

func used(at time.Time, source string) nhi.Usage {
	return nhi.Usage{State: nhi.UsageUsed, LastUsed: at, Source: source, AsOf: t0.Add(-2 * time.Hour)}
}

// webInventory: carol's platform deployer (two keys, an admin grant; the
// credential report of its account was denied, so its last use is a gap),
// liam's payments role and a GCP service account with a hostile name,
// carol's own token (self-review: alice reviews it), and dan's old user (a
// leaver item for carol).
func webInventory() nhi.Inventory {
	admin := nhi.Grant{ID: "managed-policy:AdministratorAccess", Kind: "managed-policy", Entitlement: "arn:aws:iam::aws:policy/AdministratorAccess",
		Scope: "111111111111", Privilege: nhi.PrivAdmin, Privileged: nhi.JudgedPrivileged, Reason: "AdministratorAccess"}
	s3 := nhi.Grant{ID: "managed-policy:AmazonS3ReadOnlyAccess", Kind: "managed-policy", Entitlement: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
		Scope: "111111111111", Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged}
	read := nhi.Grant{ID: "managed-policy:ReadOnlyAccess", Kind: "managed-policy", Entitlement: "arn:aws:iam::aws:policy/ReadOnlyAccess",
		Scope: "222222222222", Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged}
	viewer := nhi.Grant{ID: "role:roles/viewer@projects/pay", Kind: "role-binding", Entitlement: "roles/viewer", Scope: "projects/pay",
		Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged}
	return nhi.Inventory{
		Version: nhi.SchemaVersion, CollectedAt: t0,
		Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}, {Provider: nhi.AWS, ID: "222222222222"}, {Provider: nhi.GCP, ID: "projects/pay"}, {Provider: nhi.GitHub, ID: "acme"}},
		Gaps: []nhi.Gap{{Provider: nhi.AWS, Scope: "111111111111", Source: "iam:GenerateCredentialReport", Kind: nhi.GapDenied,
			Facets: []nhi.Facet{nhi.UsageFacet("credential-report")}}},
		Identities: []nhi.Identity{
			{ID: "aws:AIDADEPLOY", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDADEPLOY", Name: "platform-deployer",
				Scope: "111111111111", Status: nhi.StatusActive, Usage: used(t0.AddDate(0, 0, -1), "credential-report"),
				Credentials: []nhi.Credential{
					{ID: "AKIAOLD", Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Created: t0.AddDate(-1, 0, 0), Usage: used(t0.AddDate(0, -5, 0), "credential-report")},
					{ID: "AKIANEW", Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Created: t0.AddDate(0, -1, 0), Usage: used(t0.AddDate(0, 0, -1), "credential-report")},
				},
				Grants: []nhi.Grant{admin, s3}},
			{ID: "aws:AROAPAY", Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: "AROAPAY", Name: "payments-runtime",
				Scope: "222222222222", Status: nhi.StatusActive, Usage: used(t0.AddDate(0, 0, -2), "role-last-used"), Grants: []nhi.Grant{read}},
			{ID: "gcp:1234567890", Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount, NativeID: "1234567890", Name: hostileName,
				Scope: "projects/pay", Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "policy-analyzer", AsOf: t0},
				Grants: []nhi.Grant{viewer}},
			{ID: "github:fgpat:7", Provider: nhi.GitHub, Kind: nhi.KindGitHubFineGrainedPAT, NativeID: "7", Name: "carol-release-token",
				Scope: "acme", Status: nhi.StatusActive, Usage: used(t0.AddDate(0, 0, -3), "github-api"),
				OwnerHints:  []nhi.OwnerHint{{Source: "token-owner", Value: "carol@acme.example"}},
				Credentials: []nhi.Credential{{ID: "7", Type: nhi.CredGitHubFineGrainedPAT, Status: nhi.StatusActive, Usage: used(t0.AddDate(0, 0, -3), "github-api")}}},
			{ID: "aws:AIDAOLD", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDAOLD", Name: "dan-scripts",
				Scope: "222222222222", Status: nhi.StatusActive, Usage: used(t0.AddDate(0, -2, 0), "credential-report"),
				Credentials: []nhi.Credential{{ID: "AKIADAN", Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Usage: used(t0.AddDate(0, -2, 0), "credential-report")}}},
		},
	}
}

func webOwnership() map[string]nhi.Ownership {
	platform := nhi.Ownership{RoleID: "platform", Owner: "carol@acme.example", OwnerSource: "role", OwnerStatus: nhi.OwnerActive,
		TechnicalOwner: "alice@acme.example", Team: "platform"}
	payments := nhi.Ownership{RoleID: "payments", Owner: "liam@acme.example", OwnerSource: "role", OwnerStatus: nhi.OwnerActive,
		TechnicalOwner: "bob@acme.example", Team: "payments"}
	out := map[string]nhi.Ownership{
		"aws:AIDADEPLOY": platform,
		"aws:AROAPAY":    payments,
		"gcp:1234567890": payments,
		"github:fgpat:7": platform,
		"aws:AIDAOLD":    {Owner: "dan@acme.example", OwnerSource: "tag", OwnerStatus: nhi.OwnerDeparted},
	}
	for k, v := range out {
		v.IdentityID = k
		out[k] = v
	}
	return out
}

func webFindings() []nhi.Finding {
	f := func(rule, family, identity, cred, grant string, sev nhi.Severity, ev map[string]string) nhi.Finding {
		return nhi.Finding{Fingerprint: nhi.Fingerprint(rule, identity, cred, grant), RuleID: rule, Family: family, Severity: sev,
			Title: rule, IdentityID: identity, CredentialID: cred, GrantID: grant, Evidence: nhi.EvidenceOf(ev)}
	}
	return []nhi.Finding{
		f(rules.RuleDormantCredential, nhi.FamilyDormant, "aws:AIDADEPLOY", "AKIAOLD", "", nhi.SevMedium, map[string]string{"days_unused": "150", "threshold_days": "90"}),
		f(rules.RulePrivilegedGrant, nhi.FamilyOverPrivileged, "aws:AIDADEPLOY", "", "managed-policy:AdministratorAccess", nhi.SevHigh, map[string]string{"baseline": "outside the baseline"}),
		f(rules.RuleOwnerDeparted, nhi.FamilyOrphaned, "aws:AIDAOLD", "", "", nhi.SevHigh, map[string]string{"owner": "dan@acme.example"}),
	}
}

// notices keeps the notices a campaign sends (the links in them).
type notices struct {
	mu  sync.Mutex
	got []*campaign.Notice
}

func (n *notices) Notify(_ context.Context, x *campaign.Notice) (campaign.Receipt, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, x)
	return campaign.Receipt{Transport: "test", MessageID: x.MessageID}, nil
}

// env is a store with one scan and one open campaign, and a review server.
type env struct {
	st     *store.Store
	svc    *campaign.Service
	clock  *clock
	signer *campaign.Signer
	cid    int64
	server *web.Server
	ts     *httptest.Server
	// links are each reviewer's review link (their token), from the
	// invitations.
	links map[string]string
}

func testSigner(t testing.TB) *campaign.Signer {
	t.Helper()
	s, err := campaign.NewSigner([]byte("0123456789abcdef0123456789abcdef-web-test"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newStore stores the scan and creates (but does not send) a campaign.
func newStore(t testing.TB, c *clock, notifier campaign.Notifier, reviewURL string) (*store.Store, *campaign.Service, int64) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenConfig(ctx, store.Config{Path: filepath.Join(t.TempDir(), "nhiscan.db"), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	scan, err := st.BeginScan(ctx, store.ScanMeta{Started: t0, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishScan(ctx, scan, store.FinishInput{Ended: t0, Inventory: webInventory(), Findings: webFindings(),
		Ownership: webOwnership(), EvaluatedAt: t0, Lifecycle: analyzer.Lifecycle}); err != nil {
		t.Fatal(err)
	}
	svc := &campaign.Service{Store: st, Notifier: notifier, Signer: testSigner(t), ReviewURL: reviewURL, Catalog: webCatalog(), Now: c.now}
	camp, _, err := svc.Create(ctx, campaign.CreateInput{Name: "Q4 NHI review", ScanID: scan, Deadline: t0.AddDate(0, 0, 14), CreatedBy: "operator",
		Policy: campaign.Policy{Unanswered: campaign.DefaultNone, LeaverUnanswered: campaign.DefaultNone, Fallback: "grace@acme.example",
			LeaverDeadline: 7 * 24 * time.Hour, LinkTTL: 21 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return st, svc, camp.ID
}

// envOption changes the server's configuration; base is the server's URL.
type envOption func(c *web.Config, base string)

// newEnv opens the campaign (the invitations carry the links) and starts
// the review server behind a trusted proxy on loopback, so tests name
// client addresses with X-Forwarded-For.
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	c := &clock{t: t0}
	box := &notices{}
	st, svc, cid := newStore(t, c, box, "http://127.0.0.1/review")
	if _, err := svc.Send(context.Background(), cid, campaign.SendOptions{Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, svc: svc, clock: c, signer: svc.Signer, cid: cid, links: map[string]string{}}
	for _, n := range box.got {
		u, err := url.Parse(n.Link)
		if err != nil {
			t.Fatal(err)
		}
		e.links[n.To.Address] = u.Query().Get("t")
	}
	e.ts = httptest.NewUnstartedServer(nil)
	t.Cleanup(e.ts.Close)
	cfg := web.Config{Campaigns: web.Service{Service: svc, Lister: st}, Signer: svc.Signer, People: webCatalog().People,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Now: c.now}
	for _, o := range opts {
		o(&cfg, "http://"+e.ts.Listener.Addr().String())
	}
	srv, err := web.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.server = srv
	e.ts.Config.Handler = srv.Handler()
	e.ts.Start()
	return e
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, from a client address of its own.
type browser struct {
	t      testing.TB
	e      *env
	c      *http.Client
	client string
}

func (e *env) browser(t testing.TB, client string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, client: client, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a response with its body read.
type response struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values, header ...string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.ts.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Forwarded-For", b.client)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{resp, string(data)}
}

func (b *browser) get(path string) response { b.t.Helper(); return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	return b.do(http.MethodPost, path, form)
}

// open follows a reviewer's link: the landing page, then the exchange for
// a session. It returns the campaign page's path.
func (b *browser) open(token string) string {
	b.t.Helper()
	if r := b.get("/review?t=" + url.QueryEscape(token)); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Open my review") {
		b.t.Fatalf("landing = %d\n%s", r.StatusCode, r.body)
	}
	r := b.post("/review/session", url.Values{"t": {token}})
	if r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("exchange = %d\n%s", r.StatusCode, r.body)
	}
	return r.Header.Get("Location")
}

// reviewerItems returns each reviewer's items.
func (e *env) reviewerItems(t testing.TB) map[string][]campaign.Item {
	t.Helper()
	st, err := e.svc.Status(context.Background(), e.cid)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]campaign.Item{}
	for _, it := range st.Items {
		out[it.Reviewer] = append(out[it.Reviewer], it)
	}
	return out
}

func (e *env) decisions(t testing.TB) []campaign.Decision {
	t.Helper()
	ds, err := e.st.CampaignDecisions(context.Background(), e.cid)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
