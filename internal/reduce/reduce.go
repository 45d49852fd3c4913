// Package reduce turns unused-entitlement findings and the entitlement use
// a scan observed into reduce suggestions (docs/least-privilege.md): per
// identity, the grants to remove and, for an AWS policy, the services to
// drop, with a least-privilege policy document built from what was used;
// per catalog role, the baseline that covers what its members used; and
// the provider's own recommendations on grants (the GCP IAM recommender's
// role recommendations, nhi.GrantRecommendation): replace a role with
// smaller ones, or remove it.
//
// It is pure: no clock, no I/O. It judges nothing itself: what is unused
// is the analyzer's unused-entitlement finding (analyzer/unused.go); what
// was used is the grants' observed use (nhi.GrantUse); a replacement or a
// removal the provider recommends is the provider's, reported with the
// recommendation as its evidence. A grant whose use is unknown (or
// observed used) is never suggested for removal, and a role baseline built
// from members whose use is unknown says so.
package reduce

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// Input is one scan's inventory, its findings and ownership.
type Input struct {
	Inventory *nhi.Inventory
	// Findings are the scan's findings; only unused-entitlement ones that
	// are not suppressed are read.
	Findings  []nhi.Finding
	Ownership map[string]nhi.Ownership
	// Now is the scan's evaluation time and Window the unused-entitlement
	// tracking window: a service last used within it counts as used.
	Now    time.Time
	Window time.Duration
}

// Result is the suggestions, sorted by identity and by role.
type Result struct {
	Identities []Identity `json:"identities"`
	Roles      []Role     `json:"roles"`
}

// Identity is what one identity could lose.
type Identity struct {
	IdentityID   string       `json:"identity_id"`
	IdentityName string       `json:"identity_name"`
	Provider     nhi.Provider `json:"provider"`
	Scope        string       `json:"scope"`
	RoleID       string       `json:"role_id,omitempty"`
	// Remove lists the grants to remove (a campaign reduce decision takes
	// their ids); Narrow the AWS policies to keep but with fewer services.
	Remove []Grant `json:"remove,omitempty"`
	Narrow []Grant `json:"narrow,omitempty"`
	// Replace lists the grants the provider recommends replacing with the
	// smaller roles in their ReplaceWith (GCP REPLACE_ROLE).
	Replace []Grant `json:"replace,omitempty"`
	// Policy is, for an AWS identity, a least-privilege policy document
	// allowing exactly the services and actions used within the window
	// through its policy grants (empty when nothing was used, or use is
	// unknown for one of them); PolicyNote says what it cannot know.
	Policy     string `json:"policy,omitempty"`
	PolicyNote string `json:"policy_note,omitempty"`
}

// Grant is one grant to remove or narrow, with the evidence of its
// finding.
type Grant struct {
	GrantID     string `json:"grant_id"`
	Entitlement string `json:"entitlement"`
	Kind        string `json:"kind"`
	// Unused lists the services not used (AWS); Used those used.
	Unused []string `json:"unused_services,omitempty"`
	Used   []string `json:"used_services,omitempty"`
	// Evidence: source, window, last use (per service for AWS).
	Source   string `json:"source"`
	Window   string `json:"window"`
	LastUsed string `json:"last_used"`
	ByServ   string `json:"last_use_by_service,omitempty"`
	Finding  string `json:"finding"`
	// ReplaceWith lists, for a replacement, the roles suggested instead.
	ReplaceWith []string `json:"replace_with,omitempty"`
	// Recommendation names the provider's recommendation on the grant
	// (its resource name), RecommendationSubtype its kind ("REMOVE_ROLE",
	// "REPLACE_ROLE") and RecommendationAsOf its last refresh, when the
	// provider made one. A removal whose Finding is empty rests on the
	// recommendation alone.
	Recommendation        string `json:"recommendation,omitempty"`
	RecommendationSubtype string `json:"recommendation_subtype,omitempty"`
	RecommendationAsOf    string `json:"recommendation_as_of,omitempty"`
}

// Role is the baseline that covers what a catalog role's members used.
type Role struct {
	RoleID  string `json:"role_id"`
	Members int    `json:"members"`
	// Used lists each entitlement some member used within the window,
	// as "provider entitlement"; Unused those whose use was observed and
	// none used (a grant no source reported on is in neither).
	Used   []string `json:"used"`
	Unused []string `json:"unused,omitempty"`
	// Unknown counts the members with a grant whose use is unknown: the
	// baseline may then miss what they use.
	Unknown int `json:"members_with_unknown_use,omitempty"`
}

// Suggest computes the suggestions.
func Suggest(in Input) Result {
	byID := map[string]*nhi.Identity{}
	for i := range in.Inventory.Identities {
		byID[in.Inventory.Identities[i].ID] = &in.Inventory.Identities[i]
	}
	per := map[string]*Identity{}
	excepted := map[string]bool{} // identity and grant of a suppressed finding
	for i := range in.Findings {
		f := &in.Findings[i]
		if f.RuleID == rules.RuleUnusedEntitlement && f.Suppressed {
			excepted[f.IdentityID+"\x00"+f.GrantID] = true
		}
		if f.RuleID != rules.RuleUnusedEntitlement || f.Suppressed {
			continue
		}
		id, ok := byID[f.IdentityID]
		if !ok {
			continue
		}
		s := per[id.ID]
		if s == nil {
			s = &Identity{IdentityID: id.ID, IdentityName: id.Name, Provider: id.Provider, Scope: id.Scope, RoleID: in.Ownership[id.ID].RoleID}
			per[id.ID] = s
		}
		g := grantOf(f)
		if f.Evidence.Get("reduce") == "remove-services" {
			s.Narrow = append(s.Narrow, g)
		} else {
			s.Remove = append(s.Remove, g)
		}
	}
	recommended(in.Inventory, per, in.Ownership, excepted)
	var out Result
	for _, s := range per {
		if s.Provider == nhi.AWS {
			s.Policy, s.PolicyNote = leastPrivilege(byID[s.IdentityID], in.Now.Add(-in.Window))
		}
		out.Identities = append(out.Identities, *s)
	}
	sort.Slice(out.Identities, func(i, j int) bool { return out.Identities[i].IdentityID < out.Identities[j].IdentityID })
	out.Roles = roles(in)
	return out
}

func grantOf(f *nhi.Finding) Grant {
	ev := f.Evidence
	return Grant{GrantID: f.GrantID, Entitlement: ev.Get("entitlement"), Kind: ev.Get("grant_kind"),
		Unused: split(ev.Get("unused_services")), Used: split(ev.Get("used_services")),
		Source: ev.Get("source"), Window: ev.Get("window_days") + " days", LastUsed: ev.Get("last_used"), ByServ: ev.Get("last_use_by_service"),
		Finding: f.Fingerprint}
}

// recommended adds the provider's recommendations on the identities'
// grants: as evidence on a grant already suggested from a finding; else a
// replacement, or a removal when the grant's observed use does not
// contradict it (no use recorded, or never used). A grant whose unused
// finding an exception suppresses is left alone.
func recommended(inv *nhi.Inventory, per map[string]*Identity, own map[string]nhi.Ownership, excepted map[string]bool) {
	for i := range inv.Identities {
		id := &inv.Identities[i]
		for j := range id.Grants {
			g := &id.Grants[j]
			r := g.Recommendation
			if r == nil || excepted[id.ID+"\x00"+g.ID] {
				continue
			}
			s := per[id.ID]
			if s != nil && attach(s, g.ID, r) {
				continue
			}
			if r.Action == nhi.RecommendRemove && g.Use != nil && g.Use.State != nhi.UsageNeverUsed {
				continue // used, or use unknown: never removed on the recommendation alone
			}
			if s == nil {
				s = &Identity{IdentityID: id.ID, IdentityName: id.Name, Provider: id.Provider, Scope: id.Scope, RoleID: own[id.ID].RoleID}
				per[id.ID] = s
			}
			e := Grant{GrantID: g.ID, Entitlement: g.Entitlement, Kind: g.Kind, Source: r.Source, Window: windowOf(g.Use), LastUsed: lastUse(g.Use)}
			withRecommendation(&e, r)
			if r.Action == nhi.RecommendReplace {
				s.Replace = append(s.Replace, e)
			} else {
				s.Remove = append(s.Remove, e)
			}
		}
	}
	for _, s := range per {
		sort.Slice(s.Replace, func(i, j int) bool { return s.Replace[i].GrantID < s.Replace[j].GrantID })
	}
}

// attach puts the recommendation on the identity's suggestion for the
// grant, if there is one.
func attach(s *Identity, grant string, r *nhi.GrantRecommendation) bool {
	for _, l := range [][]Grant{s.Remove, s.Narrow} {
		for k := range l {
			if l[k].GrantID == grant {
				withRecommendation(&l[k], r)
				return true
			}
		}
	}
	return false
}

func withRecommendation(g *Grant, r *nhi.GrantRecommendation) {
	g.Recommendation, g.RecommendationSubtype = r.Name, r.Subtype
	g.ReplaceWith = slices.Clone(r.Replace)
	if !r.AsOf.IsZero() {
		g.RecommendationAsOf = r.AsOf.UTC().Format(time.RFC3339)
	}
}

// windowOf is the period the grant's observed use covers, in days; the
// recommender's own when no use was recorded.
func windowOf(u *nhi.GrantUse) string {
	if u == nil || u.WindowStart.IsZero() || u.WindowEnd.IsZero() {
		return "the recommender's observation period"
	}
	return strconv.Itoa(int(u.WindowEnd.Sub(u.WindowStart).Hours()/24)) + " days"
}

// lastUse is a grant's observed last use, as the findings' evidence says it.
func lastUse(u *nhi.GrantUse) string {
	switch {
	case u == nil:
		return "not reported"
	case u.State == nhi.UsageUsed:
		return u.LastUsed.UTC().Format(time.RFC3339)
	case u.State == nhi.UsageNeverUsed:
		return "never"
	default:
		return "unknown"
	}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// policyDoc is an IAM policy document.
type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

// leastPrivilege builds the policy that allows what the identity's policy
// grants were seen using since from: the actions where AWS tracks them,
// else the whole service ("s3:*"). No policy when a policy grant's use is
// unknown (what it needs cannot be shown) or nothing was used.
func leastPrivilege(id *nhi.Identity, from time.Time) (string, string) {
	var actions []string
	for i := range id.Grants {
		g := &id.Grants[i]
		if !policyGrant(g.Kind) {
			continue
		}
		if !g.Use.Known() {
			return "", "no policy: the use of " + g.Entitlement + " is unknown, so what the identity needs cannot be shown"
		}
		for _, s := range g.Use.Services {
			if s.LastUsed.IsZero() || s.LastUsed.Before(from) {
				continue
			}
			if len(s.Actions) > 0 {
				actions = append(actions, s.Actions...)
			} else {
				actions = append(actions, s.Service+":*")
			}
		}
	}
	if len(actions) == 0 {
		return "", "no policy: nothing was used within the window"
	}
	slices.Sort(actions)
	actions = slices.Compact(actions)
	b, _ := json.MarshalIndent(policyDoc{Version: "2012-10-17", Statement: []statement{{Sid: "UsedWithinWindow", Effect: "Allow", Action: actions, Resource: "*"}}}, "", "  ")
	return string(b), "built from the services and actions used since " + from.UTC().Format(time.RFC3339) +
		`: "service:*" where AWS does not track the service's actions; Resource is "*": narrow it to the resources of the policies it replaces`
}

func policyGrant(kind string) bool {
	return kind == "managed-policy" || kind == "inline-policy" || kind == "group-policy"
}

// roles computes, per catalog role, the entitlements its members used
// within the window and those none used.
func roles(in Input) []Role {
	type acc struct {
		members, unknown int
		used, held       map[string]bool
	}
	by := map[string]*acc{}
	from := in.Now.Add(-in.Window)
	for i := range in.Inventory.Identities {
		id := &in.Inventory.Identities[i]
		rid := in.Ownership[id.ID].RoleID
		if rid == "" {
			continue
		}
		r := by[rid]
		if r == nil {
			r = &acc{used: map[string]bool{}, held: map[string]bool{}}
			by[rid] = r
		}
		r.members++
		unknown := false
		for j := range id.Grants {
			g := &id.Grants[j]
			e := string(id.Provider) + " " + g.Entitlement
			switch {
			case g.Use == nil:
			case !g.Use.Known():
				unknown = true
			case g.Use.State == nhi.UsageUsed && !g.Use.LastUsed.Before(from):
				r.held[e], r.used[e] = true, true
			default:
				r.held[e] = true
			}
		}
		if unknown {
			r.unknown++
		}
	}
	var out []Role
	for rid, r := range by {
		if len(r.used) == 0 && r.unknown == 0 {
			continue // no member's use was observed: nothing to say
		}
		ro := Role{RoleID: rid, Members: r.members, Unknown: r.unknown}
		for e := range r.used {
			ro.Used = append(ro.Used, e)
		}
		for e := range r.held {
			if !r.used[e] {
				ro.Unused = append(ro.Unused, e)
			}
		}
		sort.Strings(ro.Used)
		sort.Strings(ro.Unused)
		out = append(out, ro)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RoleID < out[j].RoleID })
	return out
}
