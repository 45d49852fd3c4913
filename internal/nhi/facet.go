package nhi

import (
	"slices"
	"strings"
)

// Facet names one kind of data a collector reads in a scope: the identity
// list of one kind, one credential type, one grant kind, one usage source,
// login state, trust policies or ownership data. Coverage is judged per
// scope and facet: a failed call hides only the facets it reads, and every
// other facet of the scope still counts as observed.
//
// A facet is a class ("usage") or a class and a subject ("usage:credential-report",
// "credentials:aws-access-key", "grants:inline-policy",
// "identities:aws-iam-role"). A class stands for all its subjects: a gap on
// "usage" hides every usage source.
type Facet string

// Facet classes.
const (
	// FacetIdentities is the identity list; subject: the identity kind.
	FacetIdentities = Facet("identities")
	// FacetCredentials is the credential list; subject: the credential type.
	FacetCredentials = Facet("credentials")
	// FacetGrants is the entitlement list; subject: the grant kind
	// (managed-policy, inline-policy, group-policy, directory-role,
	// rbac-role, role-binding, app-permission, repo-permission …).
	FacetGrants = Facet("grants")
	// FacetUsage is last-use data; subject: the usage source
	// (credential-report, role-last-used, activity-analyzer, signin-report…).
	FacetUsage = Facet("usage")
	// FacetLogin is whether a person can sign in as the identity (an IAM
	// user's console password).
	FacetLogin = Facet("login")
	// FacetTrust is who may assume or impersonate the identity (trust
	// policies, federated credentials, impersonation bindings).
	FacetTrust = Facet("trust")
	// FacetOwnership is the provider's owner data (Entra owners, GitHub
	// added_by and token owners, owner tags read by a separate call).
	FacetOwnership = Facet("ownership")
	// FacetEntitlementUsage is the use of each grant within a tracking
	// window (which grants, or services of an AWS policy, were used);
	// subject: the source (access-advisor, access-analyzer,
	// gcp-recommender).
	FacetEntitlementUsage = Facet("entitlement-usage")
)

// FacetClasses lists every facet class in report order.
var FacetClasses = []Facet{FacetIdentities, FacetCredentials, FacetGrants, FacetUsage, FacetLogin, FacetTrust, FacetOwnership, FacetEntitlementUsage}

// Of returns the facet of class f for one subject, e.g.
// FacetUsage.Of("credential-report").
func (f Facet) Of(subject string) Facet {
	if subject == "" {
		return f
	}
	return f.Class() + ":" + Facet(subject)
}

// IdentitiesFacet is the identity list of one kind.
func IdentitiesFacet(k IdentityKind) Facet { return FacetIdentities.Of(string(k)) }

// CredentialsFacet is the credential list of one type.
func CredentialsFacet(t CredentialType) Facet { return FacetCredentials.Of(string(t)) }

// GrantsFacet is the grants of one kind.
func GrantsFacet(kind string) Facet { return FacetGrants.Of(kind) }

// UsageFacet is the last-use data of one source.
func UsageFacet(source string) Facet { return FacetUsage.Of(source) }

// EntitlementUsageFacet is the entitlement usage of one source.
func EntitlementUsageFacet(source string) Facet { return FacetEntitlementUsage.Of(source) }

// Class returns the facet's class ("usage" for "usage:signin-report").
func (f Facet) Class() Facet {
	if i := strings.IndexByte(string(f), ':'); i >= 0 {
		return f[:i]
	}
	return f
}

// Subject returns what follows the class, or "" for a bare class.
func (f Facet) Subject() string {
	if i := strings.IndexByte(string(f), ':'); i >= 0 {
		return string(f[i+1:])
	}
	return ""
}

// Valid reports whether f is a known class, optionally with a non-empty
// subject.
func (f Facet) Valid() bool {
	if !slices.Contains(FacetClasses, f.Class()) {
		return false
	}
	return !strings.Contains(string(f), ":") || f.Subject() != ""
}

// Covers reports whether f stands for g: the same facet, or g's class.
func (f Facet) Covers(g Facet) bool {
	return f == g || (f.Subject() == "" && g.Class() == f)
}

// Overlaps reports whether one of the two facets covers the other.
func (f Facet) Overlaps(g Facet) bool { return f.Covers(g) || g.Covers(f) }

// CoveredBy reports whether some facet of list covers or overlaps f.
func overlapsAny(list []Facet, f Facet) bool {
	for _, x := range list {
		if x.Overlaps(f) {
			return true
		}
	}
	return false
}
