package gcp_test

import (
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestHMACKeys: Cloud Storage HMAC keys are static credentials of their
// account (an inactive one disabled), never carrying their secret; they
// generate no authentication activity, so an account with an active one
// has unknown usage (a blind spot), and a failed listing hides the HMAC
// keys and usage of its project only.
func TestHMACKeys(t *testing.T) {
	srv := demo(t)
	srv.SendSecrets(true)
	inv := collectortest.Collect(t, collector(t, srv))
	etl := identityByName(t, inv, "data-etl-runner")
	var hmac *nhi.Credential
	for i, c := range etl.Credentials {
		if c.Type == nhi.CredGCPHMACKey {
			hmac = &etl.Credentials[i]
		}
	}
	if hmac == nil || hmac.Status != nhi.StatusActive || !hmac.Type.Static() || hmac.Usage.State != nhi.UsageNotReported ||
		!hmac.Created.Equal(now.AddDate(0, 0, -400)) {
		t.Fatalf("HMAC key %+v", hmac)
	}
	if etl.Usage.State != nhi.UsageUnknown || !strings.Contains(etl.Usage.Reason, "HMAC") {
		t.Errorf("account with an active HMAC key: usage %+v, want unknown (blind spot)", etl.Usage)
	}
	backup := identityByName(t, inv, "platform-backup-agent")
	if c, _ := backup.Credential("GOOG1EDEMOBACKUPAGENT00000000000000000000000000000000000002"); c == nil || c.Status != nhi.StatusDisabled {
		t.Errorf("inactive HMAC key %+v", c)
	}
	if backup.Usage.State == nhi.UsageUnknown {
		t.Errorf("an inactive HMAC key made usage unknown: %+v", backup.Usage)
	}

	srv = demo(t)
	srv.Deny("acme-data-prod", gcpfake.OpListHMACKeys)
	inv = collectortest.Collect(t, collector(t, srv))
	cov := inv.Coverage()
	for _, f := range []nhi.Facet{nhi.CredentialsFacet(nhi.CredGCPHMACKey), nhi.FacetUsage} {
		if cov.Observed(nhi.GCP, "acme-data-prod", f) {
			t.Errorf("%s observed in acme-data-prod although its HMAC keys could not be listed", f)
		}
	}
	if !cov.Observed(nhi.GCP, "acme-platform-prod", nhi.CredentialsFacet(nhi.CredGCPHMACKey)) {
		t.Error("a denial in acme-data-prod hid the HMAC keys of acme-platform-prod")
	}
	if u := identityByName(t, inv, "data-ingest-worker").Usage; u.State != nhi.UsageUnknown {
		t.Errorf("usage %s while the project's HMAC keys are unknown", u.State)
	}
}
