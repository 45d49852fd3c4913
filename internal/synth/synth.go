// Package synth generates a synthetic organisation — identities with
// credentials and grants across the four providers, people, and a catalog of
// roles — for benchmarks and load tests. Output is a pure function of the
// parameters: the same seed gives the same organisation.
package synth

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Params sizes the organisation.
type Params struct {
	Identities int
	Roles      int
	People     int
	Scopes     int // accounts, projects, tenants and orgs in all
	// CredentialsPer and GrantsPer are averages per identity.
	CredentialsPer int
	GrantsPer      int
	Seed           uint64
	Now            time.Time
	// Hygiene is the share (0-100) of identities, credentials and grants
	// that follow policy: credentials rotated within 90 days and used this
	// month, grants from the role's baseline. 0 gives uniformly random
	// ages and grants (a worst case: most keys too old, a third of grants
	// outside the baseline).
	Hygiene int
}

// Default returns the benchmark mix for n identities: 2,000 roles, 20,000
// people, 200 scopes, about 3 credentials and 10 grants each.
func Default(n int, now time.Time) Params {
	return Params{Identities: n, Roles: 2000, People: 20000, Scopes: 200, CredentialsPer: 3, GrantsPer: 10, Seed: 1, Now: now, Hygiene: 85}
}

type kindMix struct {
	kind nhi.IdentityKind
	cred nhi.CredentialType
}

var mix = map[nhi.Provider][]kindMix{
	nhi.AWS:    {{nhi.KindAWSUser, nhi.CredAWSAccessKey}, {nhi.KindAWSRole, ""}},
	nhi.GCP:    {{nhi.KindGCPServiceAccount, nhi.CredGCPUserManagedKey}},
	nhi.Azure:  {{nhi.KindEntraApplication, nhi.CredEntraClientSecret}, {nhi.KindEntraServicePrincipal, nhi.CredEntraCertificate}, {nhi.KindEntraManagedIdentity, ""}},
	nhi.GitHub: {{nhi.KindGitHubDeployKey, nhi.CredGitHubDeployKey}, {nhi.KindGitHubActions, nhi.CredGitHubActionsSecret}, {nhi.KindGitHubFineGrainedPAT, nhi.CredGitHubFineGrainedPAT}},
}

// Generate builds the inventory and catalog.
func Generate(p Params) (nhi.Inventory, *catalog.Catalog) {
	g := &generator{p: p, r: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)), now: p.Now.UTC()}
	g.makePeople()
	g.makeScopes()
	g.makePool()
	g.makeRoles()
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: g.now}
	for _, s := range g.scopes {
		inv.Scopes = append(inv.Scopes, nhi.Scope{Provider: s.p, ID: s.id})
	}
	inv.Identities = make([]nhi.Identity, 0, p.Identities)
	for i := 0; i < p.Identities; i++ {
		inv.Identities = append(inv.Identities, g.identity(i))
	}
	inv.Normalize()
	cat := &catalog.Catalog{Defaults: catalog.DefaultDefaults, People: g.people, Roles: g.roles}
	return inv, cat
}

// generator holds one organisation being generated. Every random draw goes
// through r in a fixed order, so the same seed gives the same organisation.
type generator struct {
	p      Params
	r      *rand.Rand
	now    time.Time
	people map[string]nhi.Person
	ids    []string // people's ids by index
	scopes []scope
	pool   map[nhi.Provider][]string // entitlements per provider
	roles  []catalog.Role
}

type scope struct {
	p  nhi.Provider
	id string
}

const day = duration.Day

// makePeople makes the people: a tenth of them manage the rest, 5 %
// departed.
func (g *generator) makePeople() {
	g.people = make(map[string]nhi.Person, g.p.People)
	g.ids = make([]string, g.p.People)
	for i := 0; i < g.p.People; i++ {
		id := fmt.Sprintf("person%05d@corp.example", i)
		g.ids[i] = id
		per := nhi.Person{ID: id, Name: fmt.Sprintf("Person %d", i), Status: nhi.PersonActive, Team: fmt.Sprintf("team-%03d", i%300)}
		if i > 0 {
			per.Manager = g.ids[i/10]
		}
		if g.r.IntN(100) < 5 {
			per.Status, per.Departed = nhi.PersonDeparted, g.now.Add(-time.Duration(g.r.IntN(200))*day)
		}
		g.people[id] = per
	}
}

// makeScopes spreads the scopes over the providers in turn.
func (g *generator) makeScopes() {
	g.scopes = make([]scope, g.p.Scopes)
	for i := range g.scopes {
		pv := nhi.Providers[i%len(nhi.Providers)]
		g.scopes[i] = scope{pv, fmt.Sprintf("%s-scope-%04d", pv, i)}
	}
}

// makePool makes the entitlement pools per provider: 300 each, 10%
// privileged.
func (g *generator) makePool() {
	g.pool = map[nhi.Provider][]string{}
	for _, pv := range nhi.Providers {
		for i := 0; i < 300; i++ {
			g.pool[pv] = append(g.pool[pv], fmt.Sprintf("%s-entitlement-%03d", pv, i))
		}
	}
}

// makeRoles makes the roles, one scope each, with 8 random entitlements of
// its provider and a pattern.
func (g *generator) makeRoles() {
	r := g.r
	g.roles = make([]catalog.Role, g.p.Roles)
	for i := range g.roles {
		sc := g.scopes[i%len(g.scopes)]
		owner := g.ids[r.IntN(len(g.ids))]
		role := catalog.Role{
			ID: fmt.Sprintf("role-%04d", i), Purpose: "synthetic", BusinessOwner: owner,
			TechnicalOwner: g.people[owner].Team, Team: g.people[owner].Team,
			Credentials: catalog.CredentialPolicy{StaticKeysAllowed: r.IntN(10) != 0, ExpiryRequired: r.IntN(4) == 0},
			Members:     []catalog.Selector{{Provider: sc.p, Scope: sc.id, Name: fmt.Sprintf("svc-%04d-*", i)}},
		}
		if r.IntN(10) == 0 {
			role.Team = "other-team" // owner moved
		}
		for k := 0; k < 8; k++ {
			role.Allowed = append(role.Allowed, catalog.Entitlement{Provider: sc.p, Pattern: g.pool[sc.p][r.IntN(300)]})
		}
		role.Allowed = append(role.Allowed, catalog.Entitlement{Provider: sc.p, Pattern: fmt.Sprintf("%s-entitlement-1*", sc.p)})
		g.roles[i] = role
	}
}

// good draws whether the next thing follows policy (Params.Hygiene).
func (g *generator) good() bool { return g.r.IntN(100) < g.p.Hygiene }

// age draws a credential's age: within 80 days when it follows policy,
// else up to maxDays.
func (g *generator) age(maxDays int) time.Duration {
	if g.good() {
		return time.Duration(g.r.IntN(80)+1) * day
	}
	return time.Duration(g.r.IntN(maxDays)+1) * day
}

// usage draws the usage of something created at created.
func (g *generator) usage(created time.Time) nhi.Usage {
	r, now := g.r, g.now
	if g.good() {
		last := now.Add(-time.Duration(r.IntN(30)) * day)
		if last.Before(created) {
			last = created
		}
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: "synthetic", AsOf: now}
	}
	switch n := r.IntN(20); {
	case n < 2:
		return nhi.Usage{State: nhi.UsageNeverUsed, Source: "synthetic", AsOf: now}
	case n < 3:
		return nhi.Usage{State: nhi.UsageUnknown, Reason: "synthetic gap"}
	default:
		last := now.Add(-time.Duration(r.IntN(400)) * day)
		if last.Before(created) {
			last = created
		}
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: "synthetic", AsOf: now.Add(-time.Duration(r.IntN(10)) * day)}
	}
}

// identity makes the i-th identity, a member of role i mod Roles (a tenth
// named outside every role).
func (g *generator) identity(i int) nhi.Identity {
	r := g.r
	ri := i % g.p.Roles
	role := &g.roles[ri]
	sc := role.Members[0]
	km := mix[sc.Provider][r.IntN(len(mix[sc.Provider]))]
	name := fmt.Sprintf("svc-%04d-%07d", ri, i)
	if r.IntN(10) == 0 {
		name = fmt.Sprintf("unmapped-%07d", i)
	}
	created := g.now.Add(-time.Duration(r.IntN(900)+1) * day)
	id := nhi.Identity{
		ID: nhi.MakeID(sc.Provider, fmt.Sprintf("native-%07d", i)), Provider: sc.Provider, Kind: km.kind,
		NativeID: fmt.Sprintf("native-%07d", i), Name: name, Scope: sc.Scope, Created: created,
		Status: nhi.StatusActive, Usage: g.usage(created),
	}
	if r.IntN(20) == 0 {
		id.Status = nhi.StatusDisabled
	}
	if r.IntN(3) == 0 {
		id.Tags = map[string]string{"owner": g.ids[r.IntN(len(g.ids))], "env": "prod"}
	}
	if km.cred != "" {
		id.Credentials = g.credentials(i, km.cred)
	}
	id.Grants = g.grants(role, sc)
	return id
}

// credentials draws about CredentialsPer credentials of type t.
func (g *generator) credentials(i int, t nhi.CredentialType) []nhi.Credential {
	r := g.r
	var out []nhi.Credential
	n := g.p.CredentialsPer - 1 + r.IntN(3)
	for c := 0; c < n; c++ {
		cc := g.now.Add(-g.age(500))
		cred := nhi.Credential{ID: fmt.Sprintf("cred-%07d-%d", i, c), Type: t, Created: cc, Status: nhi.StatusActive, Usage: g.usage(cc)}
		if r.IntN(3) == 0 {
			cred.Expires = g.now.Add(time.Duration(r.IntN(400)-30) * day)
		}
		if r.IntN(5) == 0 {
			cred.Status = nhi.StatusDisabled
		}
		out = append(out, cred)
	}
	return out
}

// grants draws about GrantsPer grants: most from the role's baseline, the
// rest (fewer with good hygiene) from the provider's pool; one in 30 admin.
func (g *generator) grants(role *catalog.Role, sc catalog.Selector) []nhi.Grant {
	r := g.r
	var out []nhi.Grant
	ng := g.p.GrantsPer - 2 + r.IntN(5)
	seen := map[string]bool{}
	for k := 0; k < ng; k++ {
		var ent string
		if (k < ng*7/10 || g.good()) && len(role.Allowed) > 0 {
			ent = role.Allowed[r.IntN(len(role.Allowed)-1)].Pattern
		} else {
			ent = g.pool[sc.Provider][r.IntN(300)]
		}
		if seen[ent] {
			continue
		}
		seen[ent] = true
		gr := nhi.Grant{ID: "grant:" + ent, Kind: "synthetic", Entitlement: ent, Scope: sc.Scope, Privilege: nhi.PrivRead}
		if r.IntN(30) == 0 {
			gr.Privilege, gr.Privileged, gr.Reason = nhi.PrivAdmin, nhi.JudgedPrivileged, "synthetic admin"
		}
		out = append(out, gr)
	}
	return out
}
