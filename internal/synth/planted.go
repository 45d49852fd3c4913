package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// PlantedParams sizes an organisation with planted roles: groups of
// identities that serve one business function, the way a real estate holds
// them before anyone wrote a catalog, with the noise real estates have.
// Every share is a percentage.
type PlantedParams struct {
	Identities int
	Roles      int
	Seed       uint64
	Now        time.Time
	// Untagged members carry no role tag (app, service or Application).
	Untagged int
	// OffPattern members are named outside their role's pattern
	// ("legacy-cache-3", "svc-4821", "copy-of-…"); such names share stems
	// across roles.
	OffPattern int
	// MissingGrant is the chance a member lacks each baseline grant;
	// ExtraGrant the chance it holds one grant outside it.
	MissingGrant, ExtraGrant int
	// OwnerHint members carry an owner tag naming the role's business
	// owner; Entra apps and GitHub deploy keys carry a custodial hint
	// naming its technical owner as often.
	OwnerHint int
	// Stray identities belong to no planted role ("tmp-…", "test-…").
	Stray int
	// ScopesPerProvider is how many accounts, projects, tenants and
	// organisations each provider has (at least 1); fewer scopes put more
	// roles side by side in each.
	ScopesPerProvider int
}

// DefaultPlanted is the mix the suggestion quality test and benchmark use:
// 40% of members untagged, 10% off-pattern names, 15% of baseline grants
// missing per member, 10% of members with an extra grant, 60% with an
// owner hint, 5% stray identities; 5 scopes per provider shared by many
// roles, grants shared by all roles of a provider and by a team's roles.
func DefaultPlanted(identities, roles int, now time.Time) PlantedParams {
	return PlantedParams{Identities: identities, Roles: roles, Seed: 7, Now: now,
		Untagged: 40, OffPattern: 10, MissingGrant: 15, ExtraGrant: 10, OwnerHint: 60, Stray: 5, ScopesPerProvider: 5}
}

// Planted is a generated organisation and the truth about it.
type Planted struct {
	Inventory nhi.Inventory
	// People by id: each team's members (some departed), with GitHub
	// logins as aliases.
	People map[string]nhi.Person
	// RoleOf maps each identity id to its planted role ("" for strays).
	RoleOf map[string]string
}

var (
	plantedTeams = []string{"payments", "orders", "search", "data", "platform", "identity", "billing", "growth", "risk", "ledger",
		"catalog", "checkout", "fraud", "mobile", "web", "media", "support", "shipping", "pricing", "reviews",
		"inventory", "loyalty", "ads", "maps", "mail", "chat", "docs", "devex", "security", "infra"}
	plantedApps = []string{"gateway", "indexer", "scheduler", "notifier", "renderer", "importer", "reporter", "cache", "auth", "ledger",
		"router", "crawler", "matcher", "scorer", "uploader", "resizer", "mailer", "planner", "tracker", "exporter",
		"builder", "signer", "auditor", "syncer", "broker", "relay", "archiver", "monitor", "cleaner", "loader"}
	plantedFunctions = []string{"worker", "web", "cron", "sync", "deploy"}
	roleTagKeys      = []string{"app", "app", "app", "app", "service", "Application"}
	offPatterns      = []string{"legacy-%s-%d", "svc-%[2]d", "copy-of-%s-%d", "%s-old-%d"}
)

type plantedRole struct {
	id, app, tagKey, team string
	provider              nhi.Provider
	kind                  nhi.IdentityKind
	scopes                []string
	functions             []string
	baseline              []nhi.Grant
	owner, custodian      nhi.Person
}

// GeneratePlanted builds the organisation. Output is a pure function of
// the parameters.
func GeneratePlanted(p PlantedParams) Planted {
	r := rand.New(rand.NewPCG(p.Seed, p.Seed^0x2545f4914f6cdd1d))
	out := Planted{People: plantedPeople(r, p.Now), RoleOf: map[string]string{}}
	byTeam := map[string][]nhi.Person{}
	for _, id := range slices.Sorted(mapKeys(out.People)) {
		per := out.People[id]
		byTeam[per.Team] = append(byTeam[per.Team], per)
	}
	scopes := map[nhi.Provider][]string{}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: p.Now.UTC()}
	for _, pv := range nhi.Providers {
		for i := range max(p.ScopesPerProvider, 1) {
			sc := fmt.Sprintf("%s-%s-%02d", pv, []string{"prod", "stage", "dev", "shared", "sandbox"}[i%5], i)
			scopes[pv] = append(scopes[pv], sc)
			inv.Scopes = append(inv.Scopes, nhi.Scope{Provider: pv, ID: sc})
		}
	}
	roles := plantedRoles(r, p, scopes, byTeam)
	g := &plantedGen{r: r, p: p, now: p.Now.UTC()}
	stray := p.Identities * p.Stray / 100
	for i := range p.Identities - stray {
		role := &roles[i%len(roles)]
		id := g.member(role, i)
		out.RoleOf[id.ID] = role.id
		inv.Identities = append(inv.Identities, id)
	}
	for i := range stray {
		id := g.stray(scopes, p.Identities-stray+i)
		out.RoleOf[id.ID] = ""
		inv.Identities = append(inv.Identities, id)
	}
	inv.Normalize()
	out.Inventory = inv
	return out
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func plantedPeople(r *rand.Rand, now time.Time) map[string]nhi.Person {
	people := map[string]nhi.Person{}
	for _, team := range plantedTeams {
		for i := range 8 {
			id := fmt.Sprintf("%s.eng%d@corp.example", team, i)
			per := nhi.Person{ID: id, Name: fmt.Sprintf("%s engineer %d", team, i), Status: nhi.PersonActive, Team: team,
				Aliases: []string{fmt.Sprintf("gh-%s-%d", team, i)}}
			if i > 0 {
				per.Manager = fmt.Sprintf("%s.eng0@corp.example", team)
			}
			if i == 7 && r.IntN(3) == 0 {
				per.Status, per.Departed = nhi.PersonDeparted, now.Add(-30*duration.Day)
			}
			people[id] = per
		}
	}
	return people
}

func plantedRoles(r *rand.Rand, p PlantedParams, scopes map[nhi.Provider][]string, byTeam map[string][]nhi.Person) []plantedRole {
	roles := make([]plantedRole, p.Roles)
	taken := map[string]bool{}
	for i := range roles {
		pv := nhi.Providers[i%len(nhi.Providers)]
		team := plantedTeams[r.IntN(len(plantedTeams))]
		app := team + "-" + plantedApps[r.IntN(len(plantedApps))]
		for n := 2; taken[app]; n++ {
			app = fmt.Sprintf("%s-%s-%d", team, plantedApps[r.IntN(len(plantedApps))], n)
		}
		taken[app] = true
		kinds := mix[pv]
		ro := plantedRole{id: fmt.Sprintf("planted-%04d", i), app: app, team: team, provider: pv,
			tagKey: roleTagKeys[r.IntN(len(roleTagKeys))], kind: kinds[r.IntN(len(kinds))].kind}
		ro.scopes = []string{scopes[pv][r.IntN(len(scopes[pv]))]}
		if r.IntN(10) < 3 {
			ro.scopes = append(ro.scopes, scopes[pv][r.IntN(len(scopes[pv]))])
		}
		ro.functions = slices.Clone(plantedFunctions)
		r.Shuffle(len(ro.functions), func(a, b int) { ro.functions[a], ro.functions[b] = ro.functions[b], ro.functions[a] })
		ro.functions = ro.functions[:1+r.IntN(3)]
		people := byTeam[team]
		ro.owner, ro.custodian = people[r.IntN(4)], people[4+r.IntN(4)]
		// The baseline: one grant every role of the provider holds, one
		// the team's roles share, and two to four of the role's own.
		ents := []string{fmt.Sprintf("%s-logs-writer", pv), fmt.Sprintf("%s-%s-shared-read", pv, team)}
		for range 2 + r.IntN(3) {
			ents = append(ents, fmt.Sprintf("%s-perm-%03d", pv, r.IntN(500)))
		}
		for k, e := range slices.Compact(slices.Sorted(slices.Values(ents))) {
			g := nhi.Grant{Kind: "synthetic", Entitlement: e, Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged}
			if k == 0 && r.IntN(10) == 0 {
				g.Entitlement, g.Privilege, g.Privileged, g.Reason = fmt.Sprintf("%s-admin-%03d", pv, r.IntN(20)), nhi.PrivAdmin, nhi.JudgedPrivileged, "synthetic admin"
			}
			ro.baseline = append(ro.baseline, g)
		}
		roles[i] = ro
	}
	return roles
}

type plantedGen struct {
	r   *rand.Rand
	p   PlantedParams
	now time.Time
}

func (g *plantedGen) pct(n int) bool { return g.r.IntN(100) < n }

// fullName dresses a base name the way the provider spells names: a GCP
// service account email, a GitHub Actions repository.
func fullName(p nhi.Provider, kind nhi.IdentityKind, base, scope string) string {
	switch {
	case p == nhi.GCP:
		return base + "@" + scope + ".iam.gserviceaccount.com"
	case kind == nhi.KindGitHubActions:
		return scope + "/" + base
	}
	return base
}

func (g *plantedGen) identity(p nhi.Provider, kind nhi.IdentityKind, base, scope string, i int) nhi.Identity {
	native := fmt.Sprintf("%s-%08d", p, i)
	return nhi.Identity{ID: nhi.MakeID(p, native), Provider: p, Kind: kind, NativeID: native, Name: fullName(p, kind, base, scope),
		Scope: scope, Status: nhi.StatusActive, Created: g.now.Add(-time.Duration(1+g.r.IntN(700)) * duration.Day),
		Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: g.now.Add(-duration.Day), Source: "synthetic", AsOf: g.now}}
}

func (g *plantedGen) member(ro *plantedRole, i int) nhi.Identity {
	fn := ro.functions[g.r.IntN(len(ro.functions))]
	base := fmt.Sprintf("%s-%s-%02d", ro.app, fn, g.r.IntN(100))
	if g.pct(g.p.OffPattern) {
		word := plantedApps[g.r.IntN(len(plantedApps))]
		base = fmt.Sprintf(offPatterns[g.r.IntN(len(offPatterns))], word, g.r.IntN(10000))
	}
	kind := ro.kind
	if g.r.IntN(5) == 0 {
		kind = mix[ro.provider][g.r.IntN(len(mix[ro.provider]))].kind
	}
	id := g.identity(ro.provider, kind, base, ro.scopes[g.r.IntN(len(ro.scopes))], i)
	id.Tags = map[string]string{"env": strings.Split(id.Scope, "-")[1]}
	if !g.pct(g.p.Untagged) {
		id.Tags[ro.tagKey] = ro.app
	}
	if g.r.IntN(10) < 9 {
		id.Tags["team"] = ro.team
	}
	if g.pct(g.p.OwnerHint) {
		id.Tags["owner"] = ro.owner.ID
		id.OwnerHints = append(id.OwnerHints, nhi.OwnerHint{Source: "tag", Value: ro.owner.ID})
	}
	if g.pct(g.p.OwnerHint) {
		switch kind {
		case nhi.KindEntraApplication:
			id.OwnerHints = append(id.OwnerHints, nhi.OwnerHint{Source: "entra-owner", Value: ro.custodian.ID})
		case nhi.KindGitHubDeployKey:
			id.OwnerHints = append(id.OwnerHints, nhi.OwnerHint{Source: "github-added-by", Value: ro.custodian.Aliases[0]})
		}
	}
	for _, b := range ro.baseline {
		if !g.pct(g.p.MissingGrant) {
			g.addGrant(&id, b)
		}
	}
	if g.pct(g.p.ExtraGrant) {
		e := fmt.Sprintf("%s-perm-%03d", ro.provider, g.r.IntN(500))
		g.addGrant(&id, nhi.Grant{Kind: "synthetic", Entitlement: e, Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged})
	}
	g.credentials(&id, kind)
	return id
}

func (g *plantedGen) grant(b nhi.Grant, scope string) nhi.Grant {
	b.Scope = scope
	b.ID = b.Kind + ":" + b.Entitlement + "@" + scope
	return b
}

// addGrant adds a grant unless the identity holds it already.
func (g *plantedGen) addGrant(id *nhi.Identity, b nhi.Grant) {
	gr := g.grant(b, id.Scope)
	for _, x := range id.Grants {
		if x.ID == gr.ID {
			return
		}
	}
	id.Grants = append(id.Grants, gr)
}

func (g *plantedGen) credentials(id *nhi.Identity, kind nhi.IdentityKind) {
	for _, km := range mix[id.Provider] {
		if km.kind == kind && km.cred != "" {
			id.Credentials = append(id.Credentials, nhi.Credential{ID: id.NativeID + "-key", Type: km.cred, Status: nhi.StatusActive,
				Created: g.now.Add(-time.Duration(1+g.r.IntN(200)) * duration.Day), Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "synthetic", AsOf: g.now}})
		}
	}
}

func (g *plantedGen) stray(scopes map[nhi.Provider][]string, i int) nhi.Identity {
	p := nhi.Providers[g.r.IntN(len(nhi.Providers))]
	kind := mix[p][g.r.IntN(len(mix[p]))].kind
	base := fmt.Sprintf("%s-%s-%d", []string{"tmp", "test", "scratch"}[g.r.IntN(3)], plantedApps[g.r.IntN(len(plantedApps))], g.r.IntN(100000))
	id := g.identity(p, kind, base, scopes[p][g.r.IntN(len(scopes[p]))], i)
	for range 1 + g.r.IntN(3) {
		e := fmt.Sprintf("%s-perm-%03d", p, g.r.IntN(500))
		g.addGrant(&id, nhi.Grant{Kind: "synthetic", Entitlement: e, Privilege: nhi.PrivRead, Privileged: nhi.JudgedNotPrivileged})
	}
	g.credentials(&id, kind)
	return id
}
