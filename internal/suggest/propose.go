package suggest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func itoa(n int) string { return strconv.Itoa(n) }

// custodial are the owner-hint sources that name who looks after an
// identity rather than who is accountable for it.
var custodial = map[string]bool{"entra-owner": true, "github-added-by": true, "token-owner": true, "description": true}

// propose turns a group into a role: baseline, owners, selectors and
// confidence.
func (g *grouper) propose(gr *group, ppl *analyzer.Resolver, ix *index, cov *nhi.Coverage) Role {
	r := Role{Evidence: map[Evidence]int{}, Why: why(gr)}
	members := make([]*ident, len(gr.members))
	for i, m := range gr.members {
		members[i] = &g.ids[m]
	}
	slices.SortFunc(members, func(a, b *ident) int { return cmp.Compare(a.id.ID, b.id.ID) })
	score := 0.0
	for _, x := range members {
		r.Members = append(r.Members, x.id.ID)
		if len(r.Examples) < 5 {
			r.Examples = append(r.Examples, x.id.Name)
		}
		r.Evidence[x.ev]++
		score += weight[x.ev]
		if !grantsObserved(x.id, cov) {
			r.GrantsUnobserved++
		}
	}
	// A member alone in its provider agrees with itself: it says nothing
	// about cohesion.
	r.Cohesion = g.cohesion(gr)
	r.proposeOwners(members, ppl)
	r.Confidence = confidence(score/float64(len(members)), r.Cohesion, r.OwnerAgreement, len(members))
	switch {
	case r.Confidence >= 0.8:
		r.Level = "high"
	case r.Confidence >= 0.6:
		r.Level = "medium"
	default:
		r.Level = "low"
	}
	r.Baseline = baseline(members)
	r.Selectors = ix.selectors(gr, members)
	return r
}

// confidence weighs why members joined (50%), grant cohesion (30%) and
// owner agreement (20%), rounded to two decimals; what cannot be measured
// (-1) counts as 0.5, and a role of one member loses a fifth.
func confidence(evidence, cohesion, agreement float64, members int) float64 {
	neutral := func(v float64) float64 {
		if v < 0 {
			return 0.5
		}
		return v
	}
	c := 0.5*evidence + 0.3*neutral(cohesion) + 0.2*neutral(agreement)
	if members == 1 {
		c *= 0.8
	}
	return math.Round(c*100) / 100
}

func why(gr *group) string {
	kind, rest, _ := strings.Cut(gr.key, ":")
	switch kind {
	case "tag":
		return "role tag " + rest
	case "stem":
		if gr.label != rest {
			return "name stems under " + gr.label
		}
		return "name stem " + rest
	case "grants":
		return "identical grants in one scope"
	case "owner":
		return "same owner in one scope"
	}
	return gr.key
}

// grantsObserved reports whether every grant facet of the identity's scope
// it could hold was observed.
func grantsObserved(id *nhi.Identity, cov *nhi.Coverage) bool {
	return cov.Observed(id.Provider, id.Scope, nhi.FacetGrants)
}

// proposeOwners names the business owner (the active person a strict
// majority of members resolve to), the technical owner (the active person
// a strict majority of custodial hints name, else the team most members'
// team tag names) and the team.
func (r *Role) proposeOwners(members []*ident, ppl *analyzer.Resolver) {
	owners, custodians, teams := map[string]int{}, map[string]int{}, map[string]int{}
	hinted := 0
	var raw []string
	for _, x := range members {
		if x.owner != "" {
			owners[x.owner]++
			hinted++
		}
		seen := map[string]bool{}
		for _, h := range x.id.OwnerHints {
			p, ok := ppl.ActivePerson(h.Value)
			switch {
			case ok && custodial[h.Source] && !seen[p.ID]:
				custodians[p.ID]++
				seen[p.ID] = true
			case !ok && strings.TrimSpace(h.Value) != "":
				raw = append(raw, h.Value)
			}
		}
		for k, v := range x.id.Tags {
			if strings.EqualFold(k, "team") && strings.TrimSpace(v) != "" {
				teams[v]++
				break
			}
		}
	}
	n := len(members)
	top, topN := majority(owners)
	r.OwnerAgreement = -1
	if hinted > 0 {
		r.OwnerAgreement = float64(topN) / float64(hinted)
	}
	r.BusinessOwner = Placeholder
	if 2*topN > n {
		r.BusinessOwner = top
	}
	if c, cN := majority(custodians); 2*cN > n && c != r.BusinessOwner {
		r.TechnicalOwner = c
	}
	team, teamN := majority(teams)
	if 2*teamN > n {
		r.Team = team
		if r.TechnicalOwner == "" {
			r.TechnicalOwner = team
		}
	} else if p, ok := ppl.ActivePerson(r.BusinessOwner); ok {
		r.Team = p.Team
	}
	r.OwnerHints = hintSummary(owners, raw)
}

// majority returns the most common key (the lowest on a tie) and its count.
func majority(m map[string]int) (string, int) {
	best, n := "", 0
	for k, c := range m {
		if c > n || (c == n && k < best) {
			best, n = k, c
		}
	}
	return best, n
}

// hintSummary lists the known owners by how many members name them, and
// how many hints name nobody the catalog knows.
func hintSummary(owners map[string]int, unknown []string) string {
	keys := make([]string, 0, len(owners))
	for k := range owners {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(owners[b], owners[a]), cmp.Compare(a, b)) })
	var parts []string
	for i, k := range keys {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("%d more", len(keys)-4))
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", k, owners[k]))
	}
	if u := len(slices.Compact(slices.Sorted(slices.Values(unknown)))); u > 0 {
		parts = append(parts, fmt.Sprintf("%d value(s) naming no active known person", u))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// baseline lists what the members hold, one allowance per provider and
// entitlement (with its scope when every holder holds it at the same one),
// and decides what the draft does with each: a privileged grant is for a
// human to decide, one held by fewer than half the role's members of its
// provider (when there are three or more) for a human to review, and one a
// glob cannot match literally for a human to write.
func baseline(members []*ident) []Allowance {
	type agg struct {
		a       Allowance
		holders map[string]bool
		scopes  map[string]bool
	}
	all := map[string]*agg{}
	perProvider := map[nhi.Provider]int{}
	for _, x := range members {
		perProvider[x.id.Provider]++
		for i := range x.id.Grants {
			gr := &x.id.Grants[i]
			k := string(x.id.Provider) + "\x00" + gr.Entitlement
			e := all[k]
			if e == nil {
				e = &agg{a: Allowance{Provider: x.id.Provider, Entitlement: gr.Entitlement}, holders: map[string]bool{}, scopes: map[string]bool{}}
				all[k] = e
			}
			e.holders[x.id.ID] = true
			e.scopes[gr.Scope] = true
			if priv, reason := privilege.Effective(x.id.Provider, gr); priv && !e.a.Privileged {
				e.a.Privileged, e.a.Reason = true, reason
			}
		}
	}
	out := make([]Allowance, 0, len(all))
	for _, e := range all {
		a := e.a
		a.Holders, a.Scopes, a.Of = len(e.holders), len(e.scopes), perProvider[a.Provider]
		if a.Scopes == 1 {
			for s := range e.scopes {
				a.Scope = s
			}
		}
		a.Decision = decide(a)
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Allowance) int {
		return cmp.Or(cmp.Compare(x.Decision, y.Decision), cmp.Compare(x.Provider, y.Provider), cmp.Compare(x.Entitlement, y.Entitlement))
	})
	return out
}

func decide(a Allowance) Decision {
	switch {
	case !writable(a.Entitlement) || a.Entitlement == "" || !writable(a.Scope):
		return Unwritable
	case a.Privileged:
		return DecidePrivileged
	case a.Of >= 3 && 2*a.Holders < a.Of:
		return ReviewRare
	case !literal(a.Entitlement) || !literal(a.Scope):
		return ReviewGlob
	}
	return Allow
}

// writable reports whether s can be written as a catalog glob at all.
func writable(s string) bool { return utf8.ValidString(s) && catalog.ValidGlob(s) }

// literal reports whether a glob pattern equal to s matches exactly s
// (and can be written in YAML as it is).
func literal(s string) bool {
	return utf8.ValidString(s) && catalog.ValidGlob(s) && !strings.ContainsAny(s, "*?")
}
