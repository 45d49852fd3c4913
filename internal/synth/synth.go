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
	r := rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
	now := p.Now.UTC()
	day := duration.Day

	people := make(map[string]nhi.Person, p.People)
	ids := make([]string, p.People)
	for i := 0; i < p.People; i++ {
		id := fmt.Sprintf("person%05d@corp.example", i)
		ids[i] = id
		per := nhi.Person{ID: id, Name: fmt.Sprintf("Person %d", i), Status: nhi.PersonActive, Team: fmt.Sprintf("team-%03d", i%300)}
		if i > 0 {
			per.Manager = ids[i/10]
		}
		if r.IntN(100) < 5 {
			per.Status, per.Departed = nhi.PersonDeparted, now.Add(-time.Duration(r.IntN(200))*day)
		}
		people[id] = per
	}

	type scope struct {
		p  nhi.Provider
		id string
	}
	scopes := make([]scope, p.Scopes)
	provs := nhi.Providers
	for i := range scopes {
		pv := provs[i%len(provs)]
		scopes[i] = scope{pv, fmt.Sprintf("%s-scope-%04d", pv, i)}
	}

	// Entitlement pools per provider: 300 each, 10% privileged.
	pool := map[nhi.Provider][]string{}
	for _, pv := range provs {
		for i := 0; i < 300; i++ {
			pool[pv] = append(pool[pv], fmt.Sprintf("%s-entitlement-%03d", pv, i))
		}
	}

	roles := make([]catalog.Role, p.Roles)
	for i := range roles {
		sc := scopes[i%len(scopes)]
		owner := ids[r.IntN(len(ids))]
		role := catalog.Role{
			ID: fmt.Sprintf("role-%04d", i), Purpose: "synthetic", BusinessOwner: owner,
			TechnicalOwner: people[owner].Team, Team: people[owner].Team,
			Credentials: catalog.CredentialPolicy{StaticKeysAllowed: r.IntN(10) != 0, ExpiryRequired: r.IntN(4) == 0},
			Members:     []catalog.Selector{{Provider: sc.p, Scope: sc.id, Name: fmt.Sprintf("svc-%04d-*", i)}},
		}
		if r.IntN(10) == 0 {
			role.Team = "other-team" // owner moved
		}
		for k := 0; k < 8; k++ {
			role.Allowed = append(role.Allowed, catalog.Entitlement{Provider: sc.p, Pattern: pool[sc.p][r.IntN(300)]})
		}
		role.Allowed = append(role.Allowed, catalog.Entitlement{Provider: sc.p, Pattern: fmt.Sprintf("%s-entitlement-1*", sc.p)})
		roles[i] = role
	}

	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now}
	for _, s := range scopes {
		inv.Scopes = append(inv.Scopes, nhi.Scope{Provider: s.p, ID: s.id})
	}
	inv.Identities = make([]nhi.Identity, 0, p.Identities)
	good := func() bool { return r.IntN(100) < p.Hygiene }
	age := func(maxDays int) time.Duration {
		if good() {
			return time.Duration(r.IntN(80)+1) * day
		}
		return time.Duration(r.IntN(maxDays)+1) * day
	}
	usage := func(created time.Time) nhi.Usage {
		if good() {
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
	for i := 0; i < p.Identities; i++ {
		ri := i % p.Roles
		role := &roles[ri]
		sc := role.Members[0]
		km := mix[sc.Provider][r.IntN(len(mix[sc.Provider]))]
		name := fmt.Sprintf("svc-%04d-%07d", ri, i)
		if r.IntN(10) == 0 {
			name = fmt.Sprintf("unmapped-%07d", i)
		}
		created := now.Add(-time.Duration(r.IntN(900)+1) * day)
		id := nhi.Identity{
			ID: nhi.MakeID(sc.Provider, fmt.Sprintf("native-%07d", i)), Provider: sc.Provider, Kind: km.kind,
			NativeID: fmt.Sprintf("native-%07d", i), Name: name, Scope: sc.Scope, Created: created,
			Status: nhi.StatusActive, Usage: usage(created),
		}
		if r.IntN(20) == 0 {
			id.Status = nhi.StatusDisabled
		}
		if r.IntN(3) == 0 {
			id.Tags = map[string]string{"owner": ids[r.IntN(len(ids))], "env": "prod"}
		}
		if km.cred != "" {
			n := p.CredentialsPer - 1 + r.IntN(3)
			for c := 0; c < n; c++ {
				cc := now.Add(-age(500))
				cred := nhi.Credential{ID: fmt.Sprintf("cred-%07d-%d", i, c), Type: km.cred, Created: cc, Status: nhi.StatusActive, Usage: usage(cc)}
				if r.IntN(3) == 0 {
					cred.Expires = now.Add(time.Duration(r.IntN(400)-30) * day)
				}
				if r.IntN(5) == 0 {
					cred.Status = nhi.StatusDisabled
				}
				id.Credentials = append(id.Credentials, cred)
			}
		}
		ng := p.GrantsPer - 2 + r.IntN(5)
		seen := map[string]bool{}
		for g := 0; g < ng; g++ {
			var ent string
			if (g < ng*7/10 || good()) && len(role.Allowed) > 0 {
				ent = role.Allowed[r.IntN(len(role.Allowed)-1)].Pattern
			} else {
				ent = pool[sc.Provider][r.IntN(300)]
			}
			if seen[ent] {
				continue
			}
			seen[ent] = true
			gr := nhi.Grant{ID: "grant:" + ent, Kind: "synthetic", Entitlement: ent, Scope: sc.Scope, Privilege: nhi.PrivRead}
			if r.IntN(30) == 0 {
				gr.Privilege, gr.Privileged, gr.Reason = nhi.PrivAdmin, nhi.JudgedPrivileged, "synthetic admin"
			}
			id.Grants = append(id.Grants, gr)
		}
		inv.Identities = append(inv.Identities, id)
	}
	inv.Normalize()
	cat := &catalog.Catalog{Defaults: catalog.DefaultDefaults, People: people, Roles: roles}
	return inv, cat
}
