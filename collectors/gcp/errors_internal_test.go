package gcp

import (
	"strings"
	"testing"
)

// TestScrubKeepsNamesAndDropsSecrets: resource names, permissions, ids and
// Google's wording survive; tokens, keys, assertions and opaque runs do
// not.
func TestScrubKeepsNamesAndDropsSecrets(t *testing.T) {
	keep := []string{
		"Permission 'iam.serviceAccounts.list' denied on resource 'projects/acme-payments-prod/serviceAccounts/104000000000000000001' (or it may not exist).",
		"Role organizations/123456789012/roles/ciDeployerWithAVeryLongName is not found.",
		"//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/github-pool/providers/github",
		"key projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys/c3d5e7f9a1b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0",
		"Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
	}
	for _, s := range keep {
		if got := scrub(s); got != s {
			t.Errorf("scrub(%q) = %q, want it unchanged", s, got)
		}
	}
	for _, s := range []string{
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl",
		"ya29.a0AfH6SMBx-fake_token",
		"1//0gLongRefreshTokenValue_abcdefgh",
		"AIzaSyFAKE-demo-partner-dashboards-0001",
		"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
		"invalid page token CAESBggDEAEYASIKCgh0ZXN0LTAwMDAqAggB",
		"secret bGlrZS1hLXNlY3JldA/dmFsdWUtZm9y+Y2FuYXJ5LTAx",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	} {
		if got := scrub(s); got == s || !strings.Contains(got, redacted) {
			t.Errorf("scrub(%q) = %q, want the secret redacted", s, got)
		}
	}
	if got := shortMessage("first line\nsecond line with more"); got != "first line" {
		t.Errorf("shortMessage kept %q, want the first line", got)
	}
}
