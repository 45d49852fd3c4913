package azure_test

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestCertificateThumbprint: customKeyIdentifier is base64 on the wire; the
// thumbprint is shown as the admin centre shows it (40 upper-case hex
// digits). A hand-set identifier that is not a SHA-1 is kept apart.
func TestCertificateThumbprint(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	var der []byte
	for i, a := range seed.Applications {
		if a.DisplayName == "hr-directory-sync" {
			der, _ = base64.StdEncoding.DecodeString(a.KeyCredentials[0].Key)
		}
		if a.DisplayName == "identity-governance-automation" {
			seed.Applications[i].KeyCredentials[0].CustomKeyIdentifier = base64.StdEncoding.EncodeToString([]byte("CN=deploy-2026"))
		}
	}
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	sum := sha1.Sum(der)
	want := strings.ToUpper(hex.EncodeToString(sum[:]))
	if got := credOf(t, byName(t, inv, "hr-directory-sync"), nhi.CredEntraCertificate).Attributes; got["thumbprint"] != want {
		t.Errorf("thumbprint = %q, want %q", got["thumbprint"], want)
	}
	got := credOf(t, byName(t, inv, "identity-governance-automation"), nhi.CredEntraCertificate).Attributes
	if got["thumbprint"] != "" || got["custom_key_identifier"] == "" {
		t.Errorf("hand-set identifier: attributes %v, want custom_key_identifier and no thumbprint", got)
	}
}

// TestDisabledState: an application or service principal Microsoft
// disabled (disabledByMicrosoftStatus) and a service principal with
// accountEnabled false are disabled identities; NotDisabled is active.
func TestDisabledState(t *testing.T) {
	seed := azurefake.Demo(fixedNow)
	violation, notDisabled := "DisabledDueToViolationOfServicesAgreement", "NotDisabled"
	for i, a := range seed.Applications {
		switch a.DisplayName {
		case "payments-api":
			seed.Applications[i].DisabledByMicrosoftStatus = &violation
		case "data-etl-runner":
			seed.Applications[i].DisabledByMicrosoftStatus = &notDisabled
		}
	}
	for i, sp := range seed.ServicePrincipals {
		if sp.DisplayName == "Contoso Backup Cloud" {
			seed.ServicePrincipals[i].DisabledByMicrosoftStatus = &violation
		}
	}
	inv := collectortest.Collect(t, newCollector(t, newFake(t, seed)))
	for name, want := range map[string]struct {
		status nhi.Status
		attr   string
	}{
		"payments-api":         {nhi.StatusDisabled, violation},
		"Contoso Backup Cloud": {nhi.StatusDisabled, violation},
		"data-etl-runner":      {nhi.StatusActive, ""},
		"ops-scratch-app":      {nhi.StatusDisabled, ""},
	} {
		id := byName(t, inv, name)
		if id.Status != want.status || id.Attributes["disabled_by_microsoft"] != want.attr {
			t.Errorf("%s: status %s, disabled_by_microsoft %q; want %s, %q", name, id.Status, id.Attributes["disabled_by_microsoft"], want.status, want.attr)
		}
	}
	if a := byName(t, inv, "ops-scratch-app").Attributes["account_enabled"]; a != "false" {
		t.Errorf("ops-scratch-app account_enabled = %q", a)
	}
}
