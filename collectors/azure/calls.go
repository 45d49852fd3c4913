package azure

import (
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// observePolicy reports each attempt (it runs per retry) of Microsoft
// Graph, Resource Manager and token calls to Config.Calls, named by method
// and path with identifiers replaced (GET /v1.0/servicePrincipals/{}/owners).
type observePolicy struct{ calls collectors.CallObserver }

// collectionsWithNames are the path segments followed by a name rather
// than an id.
var collectionsWithNames = map[string]int{"resourceGroups": 1, "userAssignedIdentities": 1, "federatedIdentityCredentials": 1}

func (p observePolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	raw := req.Raw()
	p.calls.Observe(collectors.Call{Provider: nhi.Azure, Operation: collectors.PathOperation(raw, collectionsWithNames),
		Status: collectors.CallStatus(resp, err)})
	return resp, err
}
