package aws_test

import (
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestTrustOfEveryProvider: every federated OIDC principal is judged by
// its provider's subject claim, not only GitHub's, and cross-account trust
// needs an external id or an organisation condition (issue 13: 26 of 56
// such roles were found at 800 users). The roles go through the fake's
// URL-encoded GetAccountAuthorizationDetails.
func TestTrustOfEveryProvider(t *testing.T) {
	seed := awsfake.Demo(now)
	seed.Accounts[1].Roles = append(seed.Accounts[1].Roles, awsfake.TrustRoles(awsfake.DemoPayments, awsfake.DemoExternalAccount, now)...)
	inv := collectortest.Collect(t, newCollector(t, startFake(t, seed), nil))
	n := 0
	for _, id := range inv.Identities {
		if id.Path != "/trust/" {
			continue
		}
		n++
		weak := hasSignal(id.Signals, nhi.SignalWeakTrust)
		if want := strings.HasPrefix(id.Name, "weak-"); weak != want {
			t.Errorf("%s: weak trust %v, want %v (signals %+v)", id.Name, weak, want, id.Signals)
		}
	}
	if n != len(awsfake.TrustRoles(awsfake.DemoPayments, awsfake.DemoExternalAccount, now)) {
		t.Errorf("%d trust roles collected", n)
	}
}
