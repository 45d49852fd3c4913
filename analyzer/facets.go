package analyzer

import (
	"slices"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// on names what a finding is about beyond its identity, and the data its
// verdict used: the credential or grant it is about, and the source of the
// usage fact it rests on ("" when the inventory does not name one).
type on struct {
	cred  *nhi.Credential
	grant *nhi.Grant
	usage string
}

// facetKey identifies one instantiation of a rule's facet classes. Equal
// keys give equal facet lists, which are shared between findings (a large
// scan repeats the same few combinations hundreds of thousands of times).
type facetKey struct {
	rule  string
	kind  nhi.IdentityKind
	cred  nhi.CredentialType
	grant string
	usage string
	// creds and grants list the identity's credential types and grant
	// kinds, for identity-level findings that read credentials or grants.
	creds, grants string
}

// facetsOf instantiates the rule's facet classes for one finding:
// identities:<kind>, credentials:<type of its credential> (of each of the
// identity's credentials for an identity-level finding; the bare class
// when it has none), grants:<kind of its grant> (likewise), usage:<source>
// (the bare class when the source is unknown), login, trust, ownership.
// The result is sorted and shared: never modify it.
func (a *analysis) facetsOf(r *rules.Rule, id *nhi.Identity, o on) []nhi.Facet {
	k := facetKey{rule: r.ID, kind: id.Kind}
	for _, c := range r.Facets {
		switch c {
		case nhi.FacetCredentials:
			if o.cred != nil {
				k.cred = o.cred.Type
			} else {
				k.creds = credentialTypes(id)
			}
		case nhi.FacetGrants:
			if o.grant != nil {
				k.grant = o.grant.Kind
			} else {
				k.grants = grantKinds(id)
			}
		case nhi.FacetUsage, nhi.FacetEntitlementUsage:
			k.usage = o.usage
		}
	}
	if fs, ok := a.facets[k]; ok {
		return fs
	}
	var fs []nhi.Facet
	for _, c := range r.Facets {
		switch c {
		case nhi.FacetIdentities:
			fs = append(fs, nhi.IdentitiesFacet(id.Kind))
		case nhi.FacetCredentials:
			fs = appendSubjects(fs, c, o.cred != nil, string(k.cred), k.creds)
		case nhi.FacetGrants:
			fs = appendSubjects(fs, c, o.grant != nil, k.grant, k.grants)
		case nhi.FacetUsage:
			fs = append(fs, nhi.UsageFacet(o.usage))
		case nhi.FacetEntitlementUsage:
			fs = append(fs, nhi.EntitlementUsageFacet(o.usage))
		default:
			fs = append(fs, c)
		}
	}
	slices.Sort(fs)
	fs = slices.Clip(slices.Compact(fs))
	a.facets[k] = fs
	return fs
}

// appendSubjects appends class:<one> when the finding is about one
// credential or grant, else class:<each of all> (all is a "\x00"-joined
// list), else the bare class.
func appendSubjects(fs []nhi.Facet, class nhi.Facet, single bool, one, all string) []nhi.Facet {
	switch {
	case single:
		return append(fs, class.Of(one))
	case all == "":
		return append(fs, class)
	}
	for _, s := range strings.Split(all, "\x00") {
		fs = append(fs, class.Of(s))
	}
	return fs
}

func credentialTypes(id *nhi.Identity) string {
	var ts []string
	for i := range id.Credentials {
		ts = append(ts, string(id.Credentials[i].Type))
	}
	return joinSet(ts)
}

func grantKinds(id *nhi.Identity) string {
	var ks []string
	for i := range id.Grants {
		ks = append(ks, id.Grants[i].Kind)
	}
	return joinSet(ks)
}

func joinSet(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	slices.Sort(vs)
	return strings.Join(slices.Compact(vs), "\x00")
}

// observer answers "was facet f of this scope observed?" for one
// inventory, memoised: every finding asks it about the same few facets.
type observer struct {
	cov  *nhi.Coverage
	memo map[observedKey]bool
	// lists memoises all by interned facet list.
	lists map[listKey]bool
}

// listKey is one interned facet list in one scope.
type listKey struct {
	p     nhi.Provider
	scope string
	first *nhi.Facet
	n     int
}

type observedKey struct {
	p     nhi.Provider
	scope string
	f     nhi.Facet
}

func newObserver(inv *nhi.Inventory) *observer {
	if inv == nil {
		return nil
	}
	return &observer{cov: inv.Coverage(), memo: map[observedKey]bool{}, lists: map[listKey]bool{}}
}

// fork returns an observer of the same inventory with its own memo, for
// another goroutine (nil for nil).
func (o *observer) fork() *observer {
	if o == nil {
		return nil
	}
	return &observer{cov: o.cov, memo: map[observedKey]bool{}, lists: map[listKey]bool{}}
}

// all reports whether every facet of fs was observed in the scope. A nil
// observer (no such scan) observed nothing.
func (o *observer) all(p nhi.Provider, scope string, fs []nhi.Facet) bool {
	if o == nil {
		return false
	}
	if len(fs) == 0 {
		return true
	}
	// Facet lists are interned (facetsOf): one answer per list and scope.
	lk := listKey{p, scope, &fs[0], len(fs)}
	if ok, done := o.lists[lk]; done {
		return ok
	}
	ok := o.each(p, scope, fs)
	o.lists[lk] = ok
	return ok
}

// each is all's answer, facet by facet, for any list (one not interned
// too).
func (o *observer) each(p nhi.Provider, scope string, fs []nhi.Facet) bool {
	if o == nil {
		return false
	}
	for _, f := range fs {
		k := observedKey{p, scope, f}
		ok, done := o.memo[k]
		if !done {
			ok = o.cov.Observed(p, scope, f)
			o.memo[k] = ok
		}
		if !ok {
			return false
		}
	}
	return true
}

// judged reports whether a finding of rule r with facets fs may be
// created: every facet observed in the finding's scope by the scan its
// rule rests on (this scan; the previous one for drift additions; both
// for changed owners). This is the one place coverage decides whether a
// finding exists.
func (a *analysis) judged(r *rules.Rule, p nhi.Provider, scope string, fs []nhi.Facet) bool {
	all := (*observer).all
	if len(r.Unobservable) > 0 {
		fs = slices.DeleteFunc(slices.Clone(fs), func(f nhi.Facet) bool { return slices.Contains(r.Unobservable, f.Class()) })
		all = (*observer).each // a fresh list: not memoised by list
	}
	switch r.Basis {
	case rules.Previous:
		return all(a.prev, p, scope, fs)
	case rules.Both:
		return all(a.prev, p, scope, fs) && all(a.cur, p, scope, fs)
	}
	return all(a.cur, p, scope, fs)
}
