package azure_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func credOf(t *testing.T, id nhi.Identity, typ nhi.CredentialType) nhi.Credential {
	t.Helper()
	for _, c := range id.Credentials {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("%s holds no %s", id.Name, typ)
	return nhi.Credential{}
}

// TestFailedAttemptIsNotUse: lastSignInDateTime counts failed and partial
// sign-ins; where the report gives lastSuccessfulSignInDateTime, only a
// success is use, so a failed attempt never clears dormancy.
func TestFailedAttemptIsNotUse(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	// marketing-analytics-export never signed in; now it has tried.
	var mkt string
	for _, a := range seed.Applications {
		if a.DisplayName == "marketing-analytics-export" {
			mkt = a.AppID
		}
	}
	seed.SignIns[mkt] = azurefake.SignIn{FailedClient: fixedNow.Add(-5 * time.Hour)}
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))

	dormant := fixedNow.Truncate(time.Second).AddDate(0, 0, -200)
	legacy := byName(t, inv, "legacy-reporting-sync")
	for what, u := range map[string]nhi.Usage{"identity": legacy.Usage, "secret": credOf(t, legacy, nhi.CredEntraClientSecret).Usage} {
		if u.State != nhi.UsageUsed || !u.LastUsed.Equal(dormant) || !strings.Contains(u.Reason, "did not succeed") {
			t.Errorf("legacy-reporting-sync %s usage = %+v, want last used 200 days ago (the failed attempt since is not use)", what, u)
		}
	}
	if u := byName(t, inv, "marketing-analytics-export").Usage; u.State != nhi.UsageNeverUsed || !strings.Contains(u.Reason, "did not succeed") {
		t.Errorf("an app whose only sign-in failed: usage %+v, want never used", u)
	}
	if u := byName(t, inv, "payments-api").Usage; u.State != nhi.UsageUsed || u.Reason != "" {
		t.Errorf("payments-api usage = %+v, want used with no caveat", u)
	}
}

// TestReportsWithoutSuccessTimes: where the reports give only the last
// attempt, it is the last use, and the reason says it may have failed.
func TestReportsWithoutSuccessTimes(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	seed.ReportsOmitSuccess = true
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	legacy := byName(t, inv, "legacy-reporting-sync")
	attempt := fixedNow.Add(-30 * time.Hour)
	for what, u := range map[string]nhi.Usage{"identity": legacy.Usage, "secret": credOf(t, legacy, nhi.CredEntraClientSecret).Usage} {
		if u.State != nhi.UsageUsed || !u.LastUsed.Equal(attempt) || !strings.Contains(u.Reason, "may have failed") {
			t.Errorf("%s usage = %+v, want the last attempt with its caveat", what, u)
		}
	}
	if u := byName(t, inv, "marketing-analytics-export").Usage; u.State != nhi.UsageNeverUsed {
		t.Errorf("no attempt at all: usage %+v, want never used", u)
	}
}

// TestCredentialNotInReport: a credential appCredentialSignInActivities
// has no record of is not reported, never "never used"; one it lists with
// no sign-in is never used.
func TestCredentialNotInReport(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	var newer, older string
	for _, a := range seed.Applications {
		if a.DisplayName == "billing-webhook-relay" {
			older, newer = a.PasswordCredentials[0].KeyID, a.PasswordCredentials[1].KeyID
		}
	}
	seed.CredentialReportOmits = []string{older}
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	for _, c := range byName(t, inv, "billing-webhook-relay").Credentials {
		want := map[string]nhi.UsageState{older: nhi.UsageNotReported, newer: nhi.UsageNeverUsed}[c.ID]
		if c.Usage.State != want || c.Usage.Source != "credential-signin-report" {
			t.Errorf("credential %s: usage %+v, want %s", c.ID, c.Usage, want)
		}
	}
}

// TestNationalCloudReports: the beta reports do not exist in the US
// Government and China clouds: they are not called there (usage unknown,
// with that reason, and an unavailable gap), unless the configuration
// turns them on; the configuration can also turn them off anywhere.
func TestNationalCloudReports(t *testing.T) {
	on, off := true, false
	cases := []struct {
		name    string
		mod     func(*azure.Config)
		called  bool
		because string
	}{
		{"public", func(*azure.Config) {}, true, ""},
		{"usgovernment", func(c *azure.Config) { c.Cloud = "usgovernment" }, false, "US Government cloud"},
		{"china", func(c *azure.Config) { c.Cloud = "china" }, false, "China cloud"},
		{"china turned on", func(c *azure.Config) { c.Cloud, c.SignInReports = "china", &on }, true, ""},
		{"public turned off", func(c *azure.Config) { c.SignInReports = &off }, false, "turned off in the configuration"},
		{"skip wins", func(c *azure.Config) { c.SignInReports, c.SkipSignInReports = &on, true }, false, "turned off in the configuration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, azurefake.Demo(fixedNow))
			inv := collectortest.Collect(t, newCollector(t, f, tc.mod))
			n := f.CallCount(azurefake.OpSPSignInActivities) + f.CallCount(azurefake.OpCredentialSignInActivities)
			if (n > 0) != tc.called {
				t.Fatalf("report calls = %d, want called %v", n, tc.called)
			}
			tenant := inv.Scopes[0]
			if slices.Contains(tenant.Facets, "usage:signin-report") != tc.called {
				t.Errorf("tenant facets %v: usage listed = %v, want %v", tenant.Facets, !tc.called, tc.called)
			}
			if tc.called {
				return
			}
			g, ok := gapIn(inv, azurefake.DemoTenantID, "graph:reports.servicePrincipalSignInActivities")
			if !ok || g.Kind != nhi.GapUnavailable || !strings.Contains(g.Detail, tc.because) {
				t.Errorf("gap %+v (found %v), want unavailable because of the %s", g, ok, tc.because)
			}
			u := byName(t, inv, "payments-api").Usage
			if u.State != nhi.UsageUnknown || !strings.Contains(u.Reason, tc.because) {
				t.Errorf("usage %+v, want unknown because of the %s", u, tc.because)
			}
		})
	}
}
