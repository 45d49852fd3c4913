package azure

import "github.com/nhiscan/nhiscan/internal/nhi"

// HiddenFacets returns the facets a failure of op hides in the tenant
// scope (tenant) or in a subscription scope, from the operation table.
func HiddenFacets(op string, tenant bool) []nhi.Facet {
	if tenant {
		return opTable[op].tenant
	}
	return opTable[op].subscribed
}

// ReachesObjects reports whether a failure of op lands on the scopes of
// the identities it names rather than on the scope it was called in.
func ReachesObjects(op string) bool { return opTable[op].reach == reachObjects }

// WeakTrust explains a broad federated credential subject, or "".
var WeakTrust = weakTrust
