package gcp_test

import (
	"bytes"
	"flag"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"

	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-inventory.json")

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func demo(t testing.TB) *gcpfake.Server {
	t.Helper()
	srv := gcpfake.New(gcpfake.Demo(now))
	t.Cleanup(srv.Close)
	return srv
}

func collector(t testing.TB, srv *gcpfake.Server, mod ...func(*gcp.Config)) *gcp.Collector {
	t.Helper()
	cfg := gcp.Config{
		Organization: gcpfake.DemoOrganization, Endpoint: srv.URL, HTTPClient: srv.Client(),
		OwnerLabelDomain: gcpfake.DemoOwnerLabelDomain, DelegatedClientIDs: gcpfake.DemoDelegatedClientIDs,
		Now: func() time.Time { return now }, RetryBaseDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := gcp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func encode(t testing.TB, inv nhi.Inventory) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenInventory(t *testing.T) {
	inv := collectortest.Collect(t, collector(t, demo(t)))
	collectortest.Golden(t, filepath.Join("testdata", "golden-inventory.json"), inv, *update)
}

func TestConformance(t *testing.T) {
	var secrets []string
	collectortest.Run(t, collectortest.Subject{
		New: func(t *testing.T) collectors.Collector {
			srv := demo(t)
			secrets = srv.Secrets()
			return collector(t, srv)
		},
		Deny: func(t *testing.T) (collectors.Collector, string) {
			srv := demo(t)
			srv.Deny("acme-data-prod", "")
			return collector(t, srv, func(c *gcp.Config) {
				c.Organization = ""
				c.Projects = []string{"acme-data-prod", "acme-payments-prod", "acme-platform-prod"}
			}), "acme-data-prod"
		},
		Secrets: gcpfake.New(gcpfake.Demo(now)).Secrets(),
	})
	if len(secrets) == 0 {
		t.Error("the demo seeds no secret values, so the leak check proves nothing")
	}
}

func identityByName(t testing.TB, inv nhi.Inventory, name string) nhi.Identity {
	t.Helper()
	for _, id := range inv.Identities {
		if id.Name == name || strings.HasPrefix(id.Name, name+"@") {
			return id
		}
	}
	t.Fatalf("no identity %q", name)
	return nhi.Identity{}
}

func TestDemoMapping(t *testing.T) {
	inv := collectortest.Collect(t, collector(t, demo(t)))
	if len(inv.Gaps) != 0 {
		t.Errorf("unexpected gaps: %+v", inv.Gaps)
	}

	backup := identityByName(t, inv, "platform-backup-agent")
	for _, cr := range backup.Credentials {
		if cr.Type != nhi.CredGCPUserManagedKey {
			continue
		}
		if len(cr.Signals) != 1 || cr.Signals[0].Code != nhi.SignalExposed {
			t.Errorf("exposed key %s: signals %+v, want one %s", cr.ID, cr.Signals, nhi.SignalExposed)
		}
	}
	if cr, _ := backup.Credential("2c9e5a7b1d3f4e6a8b0c2d4e6f8a0b1c3d5e7f90"); cr == nil || cr.Status != nhi.StatusDisabled {
		t.Errorf("key disabled by Google for exposure: %+v", cr)
	}

	exporter := identityByName(t, inv, "data-reporting-exporter")
	if exporter.Usage.State != nhi.UsageUnknown || !strings.Contains(exporter.Usage.Reason, "API keys") {
		t.Errorf("service account with a bound API key: usage %+v, want unknown (blind spot)", exporter.Usage)
	}
	var apiKey, expiring *nhi.Credential
	for i, cr := range exporter.Credentials {
		switch cr.Type {
		case nhi.CredGCPAPIKey:
			apiKey = &exporter.Credentials[i]
		case nhi.CredGCPUserManagedKey:
			expiring = &exporter.Credentials[i]
		}
	}
	if apiKey == nil || apiKey.Usage.State != nhi.UsageNotReported {
		t.Errorf("bound API key not a not-reported credential: %+v", apiKey)
	}
	if expiring == nil || !expiring.Expires.Equal(now.AddDate(0, 0, 10)) {
		t.Errorf("expiring key: %+v", expiring)
	}

	mailer := identityByName(t, inv, "data-dwd-mailer")
	if mailer.Usage.State != nhi.UsageUnknown || !strings.Contains(mailer.Usage.Reason, "domain-wide delegation") {
		t.Errorf("delegated account usage %+v, want unknown", mailer.Usage)
	}
	if mailer.Credentials[0].Usage.State != nhi.UsageUnknown {
		t.Errorf("delegated account key usage %+v, want unknown", mailer.Credentials[0].Usage)
	}

	etl := identityByName(t, inv, "data-etl-runner")
	if u := userKey(t, etl).Usage; u.State != nhi.UsageNeverUsed || u.AsOf.IsZero() || u.Source == "" {
		t.Errorf("unused key: usage %+v, want never-used with source and as-of", u)
	}
	ledger := identityByName(t, inv, "payments-ledger-sync")
	if u := ledger.Usage; u.State != nhi.UsageUsed || !u.LastUsed.Equal(now.AddDate(0, 0, -200).Truncate(24*time.Hour)) ||
		!strings.Contains(u.Reason, "day precision") || !strings.Contains(u.Reason, "failed attempts") {
		t.Errorf("dormant account usage %+v, want last used 200 days ago, at day precision, with the failed-attempts caveat", u)
	}
	nodes := identityByName(t, inv, "platform-gke-nodes")
	if nodes.Status != nhi.StatusDisabled || !nodes.Credentials[0].ProviderRotated || nodes.Credentials[0].Type != nhi.CredGCPSystemManagedKey {
		t.Errorf("disabled account with a system-managed key: %+v", nodes)
	}

	agent := identityByName(t, inv, "service-100000000001")
	if !agent.ProviderManaged || agent.Scope != "acme-payments-prod" || agent.Usage.State != nhi.UsageNotReported {
		t.Errorf("service agent: %+v", agent)
	}
	scim := identityByName(t, inv, "identity-scim-sync")
	if len(scim.OwnerHints) != 1 || scim.OwnerHints[0] != (nhi.OwnerHint{Source: "label", Value: "irene.rossi@acme.example"}) {
		t.Errorf("owner from project label: %+v", scim.OwnerHints)
	}
	if len(identityByName(t, inv, "devex-build-cache").OwnerHints) != 0 {
		t.Error("devex-build-cache should carry no owner hint")
	}

	tf := identityByName(t, inv, "platform-terraform")
	want := map[string]bool{
		"roles/browser@organizations/123456789012":                                                                          false,
		"roles/iam.serviceAccountTokenCreator@projects/acme-platform-prod":                                                  true,
		"roles/resourcemanager.folderAdmin@folders/200000000001":                                                            true,
		"roles/iam.serviceAccountUser@iam.googleapis.com/projects/acme-payments-prod/serviceAccounts/104000000000000000001": false,
	}
	if len(tf.Grants) != len(want) {
		t.Errorf("platform-terraform grants %+v", tf.Grants)
	}
	for _, g := range tf.Grants {
		if p, ok := want[g.ID]; !ok || p != g.Privileged.Privileged() || (g.Privileged.Privileged() && g.Reason == "") {
			t.Errorf("grant %s privileged=%v reason=%q", g.ID, g.Privileged, g.Reason)
		}
	}
}

// TestServiceAgentsAreRecognisedByTheirFormOnly checks that only Google's
// service agent address forms become provider-managed identities: a
// customer account from outside the scanned scopes whose name starts with
// "service-" must not be exempted from role rules as a Google agent.
func TestServiceAgentsAreRecognisedByTheirFormOnly(t *testing.T) {
	srv := demo(t)
	srv.Mutate(func(s *gcpfake.Seed) {
		p := &s.Projects[0]
		p.Bindings = append(p.Bindings,
			gcpfake.Binding{Role: "roles/owner", Members: []string{"serviceAccount:service-backdoor@other-org-proj.iam.gserviceaccount.com"}},
			gcpfake.Binding{Role: "roles/editor", Members: []string{"serviceAccount:100000000001@cloudservices.gserviceaccount.com"}},
			gcpfake.Binding{Role: "roles/container.serviceAgent", Members: []string{"serviceAccount:service-100000000001@container-engine-robot.iam.gserviceaccount.com"}},
			gcpfake.Binding{Role: "roles/logging.configWriter", Members: []string{"serviceAccount:service-org-123456789012@gcp-sa-logging.iam.gserviceaccount.com"}},
		)
	})
	inv := collectortest.Collect(t, collector(t, srv))
	agents := map[string]bool{}
	for _, id := range inv.Identities {
		if id.ProviderManaged {
			agents[id.Name] = true
		}
	}
	for _, want := range []string{
		"service-100000000001@gcp-sa-pubsub.iam.gserviceaccount.com",
		"100000000001@cloudservices.gserviceaccount.com",
		"service-100000000001@container-engine-robot.iam.gserviceaccount.com",
		"service-org-123456789012@gcp-sa-logging.iam.gserviceaccount.com",
	} {
		if !agents[want] {
			t.Errorf("%s is not a provider-managed service agent; agents: %v", want, agents)
		}
	}
	if agents["service-backdoor@other-org-proj.iam.gserviceaccount.com"] {
		t.Error("a customer account named service-… was taken for a Google service agent")
	}
}

// TestCompromisedKeysAreExposed covers the other half of Google's exposure
// report: a key disabled as compromise-detected, and an active key whose
// extended status says so, both carry the exposed signal.
func TestCompromisedKeysAreExposed(t *testing.T) {
	srv := demo(t)
	const disabled, active = "c3d5e7f9a1b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0", "d4c6e8f0a2b3d5f7a9c1e2b4d6f8a0c2e4b6d8f1"
	srv.Mutate(func(s *gcpfake.Seed) {
		sa := &s.Projects[0].ServiceAccounts[2] // payments-batch-legacy
		for i := range sa.Keys {
			k := &sa.Keys[i]
			switch k.ID {
			case disabled:
				k.Disabled, k.DisableReason = true, gcpfake.ReasonCompromi
			case active:
				k.ExtendedStatus = map[string]string{"SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_COMPROMISE_DETECTED": "used from an unexpected network"}
			}
		}
	})
	id := identityByName(t, collectortest.Collect(t, collector(t, srv)), "payments-batch-legacy")
	for _, kid := range []string{disabled, active} {
		cr, ok := id.Credential(kid)
		if !ok || len(cr.Signals) != 1 || cr.Signals[0].Code != nhi.SignalExposed || !strings.Contains(cr.Signals[0].Detail, "COMPROMISE_DETECTED") {
			t.Errorf("key %s: %+v, want the %s signal naming the compromise", kid, cr, nhi.SignalExposed)
		}
	}
	if cr, _ := id.Credential(disabled); cr.Status != nhi.StatusDisabled {
		t.Errorf("key disabled by Google: status %s", cr.Status)
	}
}

// TestFolderScope collects one folder: its projects only, with the folder
// listed as a scope and bindings from the folder down.
func TestFolderScope(t *testing.T) {
	srv := demo(t)
	c := collector(t, srv, func(c *gcp.Config) { c.Organization = ""; c.Folders = []string{"folders/200000000002"} })
	inv := collectortest.Collect(t, c)
	if len(inv.Gaps) != 0 {
		t.Errorf("gaps %+v", inv.Gaps)
	}
	var scopes []string
	for _, s := range inv.Scopes {
		scopes = append(scopes, s.ID)
	}
	if got, want := strings.Join(scopes, ","), "acme-devex-tools,acme-identity-prod,folders/200000000002"; got != want {
		t.Errorf("scopes %s, want %s", got, want)
	}
	var names []string
	for _, id := range inv.Identities {
		names = append(names, strings.SplitN(id.Name, "@", 2)[0])
	}
	const legacyCI = "principalSet://iam.googleapis.com/projects/100000000004/locations/global/workloadIdentityPools/legacy-ci/*"
	if got, want := strings.Join(names, ","), "devex-build-cache,devex-docs-bot,identity-scim-sync,"+legacyCI; got != want {
		t.Errorf("identities %s, want %s", got, want)
	}
	bot := identityByName(t, inv, "devex-docs-bot")
	if len(bot.Grants) != 1 || bot.Grants[0].ID != "roles/iam.serviceAccountUser@projects/acme-devex-tools" || !bot.Grants[0].Privileged.Privileged() {
		t.Errorf("devex-docs-bot grants %+v, want the privileged project-wide serviceAccountUser", bot.Grants)
	}
	if n := srv.CallCount(gcpfake.OpListAssets) + srv.CallCount(gcpfake.OpSearchIamPolicies) + srv.CallCount(gcpfake.OpSearchPrincipals) +
		srv.CallCount(gcpfake.OpSearchAccountPolicies); n != 4 {
		t.Errorf("asset calls %v, want one listing and three searches at the folder", srv.Calls())
	}
}

// TestSecretsSentByTheAPINeverLeak has the fake send key material and API
// key strings in every listing, through the asset path and the IAM
// fallback, and checks that none reaches the inventory or the log.
func TestSecretsSentByTheAPINeverLeak(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		srv := demo(t)
		srv.SendSecrets(true)
		if fallback {
			srv.DisableService("cloudasset")
		}
		var logs bytes.Buffer
		inv := collectortest.Collect(t, collector(t, srv, func(c *gcp.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}))
		out := append(encode(t, inv), logs.Bytes()...)
		secrets := srv.Secrets()
		if len(secrets) < 2 {
			t.Fatalf("the demo seeds %d secrets", len(secrets))
		}
		for _, sec := range secrets {
			if bytes.Contains(out, []byte(sec)) {
				t.Errorf("fallback=%v: secret %q… reached the inventory or log", fallback, sec[:8])
			}
		}
	}
}

// TestGrantPrivilege covers the privilege rules at each level: basic roles,
// *.admin roles, and the impersonation roles at project or wider scope
// (privileged) versus on one resource (not).
func TestGrantPrivilege(t *testing.T) {
	const sam = "serviceAccount:identity-scim-sync@acme-identity-prod.iam.gserviceaccount.com"
	srv := demo(t)
	srv.Mutate(func(s *gcpfake.Seed) {
		s.OrgBindings = append(s.OrgBindings, gcpfake.Binding{Role: "roles/owner", Members: []string{sam}})
		s.Folders[1].Bindings = append(s.Folders[1].Bindings, gcpfake.Binding{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{sam}})
		p := &s.Projects[4]
		p.Bindings = append(p.Bindings, gcpfake.Binding{Role: "roles/viewer", Members: []string{sam}})
		p.ResourceBindings = map[string][]gcpfake.Binding{
			"//storage.googleapis.com/acme-hr-exports":                                                     {{Role: "roles/storage.admin", Members: []string{sam}}},
			"//iam.googleapis.com/projects/acme-identity-prod/serviceAccounts/104000000000000000015":       {{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{sam}}},
			"//iam.googleapis.com/projects/acme-identity-prod/serviceAccounts/104000000000000000099@x.com": {{Role: "roles/iam.serviceAccountUser", Members: []string{sam}, ConditionTitle: "expires 2030"}},
		}
	})
	id := identityByName(t, collectortest.Collect(t, collector(t, srv)), "identity-scim-sync")
	type want struct {
		priv       nhi.Privilege
		privileged bool
	}
	wants := map[string]want{
		"roles/owner@organizations/123456789012":                                                                                                         {nhi.PrivAdmin, true},
		"roles/iam.serviceAccountTokenCreator@folders/200000000002":                                                                                      {nhi.PrivWrite, true},
		"roles/viewer@projects/acme-identity-prod":                                                                                                       {nhi.PrivRead, false},
		"roles/iam.serviceAccountViewer@projects/acme-identity-prod":                                                                                     {nhi.PrivRead, false},
		"roles/storage.admin@storage.googleapis.com/acme-hr-exports":                                                                                     {nhi.PrivAdmin, true},
		"roles/iam.serviceAccountTokenCreator@iam.googleapis.com/projects/acme-identity-prod/serviceAccounts/104000000000000000015":                      {nhi.PrivWrite, false},
		"roles/iam.serviceAccountUser@iam.googleapis.com/projects/acme-identity-prod/serviceAccounts/104000000000000000099@x.com?condition=expires 2030": {nhi.PrivWrite, false},
	}
	got := map[string]bool{}
	for _, g := range id.Grants {
		got[g.ID] = true
		w, ok := wants[g.ID]
		if !ok {
			t.Errorf("unexpected grant %s", g.ID)
			continue
		}
		if g.Privilege != w.priv || g.Privileged.Privileged() != w.privileged || g.Privileged.Privileged() != (g.Reason != "") {
			t.Errorf("%s: privilege %s privileged %v reason %q, want %s %v", g.ID, g.Privilege, g.Privileged, g.Reason, w.priv, w.privileged)
		}
	}
	for gid := range wants {
		if !got[gid] {
			t.Errorf("missing grant %s", gid)
		}
	}
}

// userKey returns the identity's one user-managed key.
func userKey(t testing.TB, id nhi.Identity) nhi.Credential {
	t.Helper()
	for _, c := range id.Credentials {
		if c.Type == nhi.CredGCPUserManagedKey {
			return c
		}
	}
	t.Fatalf("%s has no user-managed key", id.Name)
	return nhi.Credential{}
}
