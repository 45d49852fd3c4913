package suggest

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// RoleTagKeys are the tag and label keys read as a role or application
// name, in priority order, compared case-insensitively. The first present
// on an identity is its role tag.
var RoleTagKeys = []string{"nhiscan-role", "role", "app", "application", "service", "component", "workload", "system"}

// Evidence says why an identity joined its group, strongest first.
type Evidence uint8

// Kinds of evidence.
const (
	// ByTag: the identity carries the group's role tag.
	ByTag Evidence = iota + 1
	// ByStemPeers: its name stem is the one the group's tagged members
	// share.
	ByStemPeers
	// ByStem: it shares a name stem with the other members.
	ByStem
	// BySiblingStem: its name stem is a sibling of the group's
	// ("orders-api-web" beside "orders-api-worker") and their members
	// hold the same grants.
	BySiblingStem
	// ByGrants: its grants match the group's common grants.
	ByGrants
	// BySameGrants: it holds exactly the grants the other members hold.
	BySameGrants
	// ByOwner: it has the same owner as the other members (weakest).
	ByOwner
)

// weight is how much each kind of evidence is worth in the confidence.
var weight = map[Evidence]float64{ByTag: 1, ByStemPeers: 0.9, ByStem: 0.8, BySiblingStem: 0.75, ByGrants: 0.7, BySameGrants: 0.6, ByOwner: 0.4}

var evidenceText = map[Evidence]string{
	ByTag: "role tag", ByStemPeers: "name stem of tagged peers", ByStem: "name stem", BySiblingStem: "sibling name stem", ByGrants: "similar grants",
	BySameGrants: "identical grants", ByOwner: "same owner",
}

func (e Evidence) String() string { return evidenceText[e] }

// ident is one candidate identity with the features grouping reads.
type ident struct {
	id *nhi.Identity
	// tagKey/tagVal: the role tag (the key as the identity spells it).
	tagKey, tagVal string
	stem           string   // lower-case name stem, "" when none
	tokens         []string // lower-case name tokens
	// ents are what grant similarity compares: the sorted distinct
	// "provider\x00entitlement\x00scope" the identity holds, with a scope
	// that is the identity's own written "~" (grants of different
	// providers, or on different repositories or resources, never look
	// alike; the same grant in each member's own account or project does).
	ents  []string
	owner string // resolved owner (a known person's id), "" when none
	group int    // index into grouper.groups, -1 when none
	ev    Evidence
	sim   float64 // grant similarity when ev is ByGrants
}

// group is a candidate role: identities and the key that formed it.
type group struct {
	key     string // "tag:app=x", "stem:x", "grants:…", "owner:…"
	label   string // what the role id is made from
	members []int  // indices into grouper.ids
	core    []string
	dead    bool // merged into another group: into
	into    int
}

type grouper struct {
	ids    []ident
	groups []*group
	byKey  map[string]int
	// scopes: the groups with members in each scope (for attach).
	scopes map[scopeOf]map[int]bool
}

type scopeOf struct {
	p     nhi.Provider
	scope string
}

// tokenize splits a name into lower-case tokens: an email keeps its local
// part, a leading scope (a GitHub organisation) is dropped, and anything
// that is not a letter or digit separates tokens.
func tokenize(name, scope string) []string {
	if at := strings.IndexByte(name, '@'); at > 0 {
		name = name[:at]
	}
	if scope != "" && len(name) > len(scope) && strings.EqualFold(name[:len(scope)], scope) {
		if r := rune(name[len(scope)]); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			name = name[len(scope)+1:]
		}
	}
	return strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// roleTag returns the identity's role tag, if any.
func roleTag(tags map[string]string) (string, string) {
	for _, want := range RoleTagKeys {
		var best string
		for k, v := range tags {
			// The lowest key wins when several spellings are present, so
			// map order never decides.
			if strings.EqualFold(k, want) && strings.TrimSpace(v) != "" && (best == "" || k < best) {
				best = k
			}
		}
		if best != "" {
			return best, tags[best]
		}
	}
	return "", ""
}

// assignStems sets each identity's stem: the longest run of leading name
// tokens it shares with at least one other identity that has no longer
// stem of its own (of any provider: the same name in two clouds is
// usually one workload). Deeper runs claim their identities first, so
// "payments-api-1" and "payments-api-2" share "payments-api" even when
// "payments-batch-1" exists, and "payments-batch-1" alone has no stem.
func (g *grouper) assignStems() {
	nodes := map[string][]int{}
	depth := 0
	for i := range g.ids {
		x := &g.ids[i]
		for n := 1; n <= len(x.tokens); n++ {
			k := strings.Join(x.tokens[:n], "-")
			nodes[k] = append(nodes[k], i)
		}
		depth = max(depth, len(x.tokens))
	}
	byDepth := make([][]string, depth+1)
	for k, ms := range nodes {
		if len(ms) >= 2 {
			d := strings.Count(k, "-") + 1 // tokens hold no "-"
			byDepth[d] = append(byDepth[d], k)
		}
	}
	for d := depth; d >= 1; d-- {
		slices.Sort(byDepth[d])
		for _, k := range byDepth[d] {
			var free []int
			for _, i := range nodes[k] {
				if g.ids[i].stem == "" {
					free = append(free, i)
				}
			}
			if len(free) >= 2 {
				for _, i := range free {
					g.ids[i].stem = k
				}
			}
		}
	}
}

func (g *grouper) join(i int, key, label string, ev Evidence) {
	gi, ok := g.byKey[key]
	if !ok {
		gi = len(g.groups)
		g.byKey[key] = gi
		g.groups = append(g.groups, &group{key: key, label: label})
	}
	g.groups[gi].members = append(g.groups[gi].members, i)
	g.ids[i].group, g.ids[i].ev = gi, ev
}

// stemKey is the key of a stem group; stems of different providers that
// spell the same are one group (one business function across clouds).
func stemKey(stem string) string { return "stem:" + stem }

func tagKey(k, v string) string { return "tag:" + strings.ToLower(k) + "=" + v }

// anchor groups identities by role tag, then by name stem. A stem that
// tagged identities share joins their tag's group when one tag holds at
// least two thirds of them; a stem shared by identities of several tags is
// ambiguous and anchors nothing.
func (g *grouper) anchor() {
	type tally map[string]int
	stemTags := map[string]tally{}
	for i := range g.ids {
		x := &g.ids[i]
		if x.tagVal == "" {
			continue
		}
		g.join(i, tagKey(x.tagKey, x.tagVal), x.tagVal, ByTag)
		if x.stem != "" {
			if stemTags[x.stem] == nil {
				stemTags[x.stem] = tally{}
			}
			stemTags[x.stem][tagKey(x.tagKey, x.tagVal)]++
		}
	}
	for i := range g.ids {
		x := &g.ids[i]
		if x.tagVal != "" || x.stem == "" {
			continue
		}
		t := stemTags[x.stem]
		if len(t) == 0 {
			g.join(i, stemKey(x.stem), x.stem, ByStem)
			continue
		}
		best, n, total := "", 0, 0
		for k, c := range t {
			total += c
			if c > n || (c == n && k < best) {
				best, n = k, c
			}
		}
		if 3*n >= 2*total {
			g.join(i, best, "", ByStemPeers)
		}
	}
}

// computeCores sets each group's core: the grants at least half of its
// members of the grant's provider hold.
func (g *grouper) computeCores() {
	for _, gr := range g.groups {
		gr.core = g.common(gr.members)
	}
}

func (g *grouper) common(members []int) []string {
	count := map[string]int{}
	perProvider := map[string]int{}
	for _, m := range members {
		perProvider[string(g.ids[m].id.Provider)]++
		for _, e := range g.ids[m].ents {
			count[e]++
		}
	}
	var core []string
	for e, n := range count {
		p, _, _ := strings.Cut(e, "\x00")
		if 2*n >= perProvider[p] {
			core = append(core, e)
		}
	}
	slices.Sort(core)
	return core
}

// coreOf returns the part of a sorted core that holds provider p's grants.
func coreOf(core []string, p nhi.Provider) []string {
	prefix := string(p) + "\x00"
	lo, _ := slices.BinarySearch(core, prefix)
	hi := lo
	for hi < len(core) && strings.HasPrefix(core[hi], prefix) {
		hi++
	}
	return core[lo:hi]
}

// jaccard is |a∩b| / |a∪b| over sorted distinct lists.
func jaccard(a, b []string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	i, j, inter := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := cmp.Compare(a[i], b[j]); {
		case c == 0:
			inter++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// parentStem is a stem without its last token, "" for one token.
func parentStem(stem string) string {
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return ""
	}
	return stem[:i]
}

// mergeSiblings joins each name-stem group to the group whose members'
// stems are its siblings (the same stem but for the last token: "orders-
// api-web" and "orders-api-worker") or its parent ("orders-api" for
// "orders-api-07"), and whose common grants are most like
// its own (Jaccard at least minSimilarity, strictly better than any other
// sibling's): one function split by a naming suffix. Groups of another
// team that share only a prefix ("payments-gateway", "payments-indexer")
// hold other grants and stay apart.
func (g *grouper) mergeSiblings() {
	byParent := map[string][]int{}
	for gi, gr := range g.groups {
		// A group is a candidate for its members' stems' siblings and
		// children: "orders-api" takes "orders-api-07" as well as
		// "orders-api-web" takes "orders-api-worker".
		seen := map[string]bool{}
		for _, m := range gr.members {
			for _, p := range []string{g.ids[m].stem, parentStem(g.ids[m].stem)} {
				if p != "" && !seen[p] {
					seen[p] = true
					byParent[p] = append(byParent[p], gi)
				}
			}
		}
	}
	order := make([]int, 0, len(g.groups))
	for gi, gr := range g.groups {
		if strings.HasPrefix(gr.key, "stem:") {
			order = append(order, gi)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(g.groups[a].key, g.groups[b].key) })
	for _, si := range order {
		src := g.groups[si]
		if src.dead {
			continue
		}
		best, tie := g.closestSibling(si, byParent[parentStem(strings.TrimPrefix(src.key, "stem:"))])
		if best < 0 || tie {
			continue
		}
		dst := g.groups[best]
		for _, m := range src.members {
			g.ids[m].group, g.ids[m].ev = best, BySiblingStem
		}
		// Siblings make a role named after their common stem.
		if p := parentStem(src.label); strings.HasPrefix(dst.key, "stem:") && parentStem(dst.label) == p {
			dst.label = p
		}
		dst.members = append(dst.members, src.members...)
		src.members, src.dead, src.into = nil, true, best
		dst.core = g.common(dst.members)
	}
}

// live follows merges to the group gi now belongs to.
func (g *grouper) live(gi int) int {
	for g.groups[gi].dead {
		gi = g.groups[gi].into
	}
	return gi
}

// closestSibling returns the candidate group whose core grants are most
// like group si's, at least minSimilarity. Candidates tied for best are
// one choice (the first by key) when their own grants are alike, and a
// tie (no choice) when they differ.
func (g *grouper) closestSibling(si int, candidates []int) (int, bool) {
	src := g.groups[si]
	best, bestSim := -1, 0.0
	var tied []int
	seen := map[int]bool{}
	for _, c := range candidates {
		ci := g.live(c)
		if ci == si || seen[ci] {
			continue
		}
		seen[ci] = true
		switch s := jaccard(src.core, g.groups[ci].core); {
		case s > bestSim:
			best, bestSim, tied = ci, s, nil
		case s == bestSim && best >= 0:
			tied = append(tied, ci)
		}
	}
	if best < 0 || bestSim < minSimilarity {
		return -1, false
	}
	for _, t := range tied {
		if jaccard(g.groups[best].core, g.groups[t].core) < minSimilarity {
			return -1, true
		}
		if g.groups[t].key < g.groups[best].key {
			best = t
		}
	}
	return best, false
}

// minSimilarity is the grant similarity an unanchored identity needs to
// join a group.
const minSimilarity = 0.5

// minShared is how many grants an identity must share with a group's core
// to join it by grants alone: one common grant (ReadOnlyAccess) says little.
const minShared = 2

// shared counts the entries two sorted lists have in common.
func shared(a, b []string) int {
	n := 0
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); ok {
			n++
		}
	}
	return n
}

// minCohesion is the grant cohesion below which a name stem is weak
// evidence: its members hold unlike grants ("legacy-…" names of several
// functions), so each may move to a group whose grants it shares.
const minCohesion = 0.4

// attach puts identities without an anchor, and the members of name-stem
// groups whose grants do not agree (cohesion below minCohesion), into the
// group with members in their scope whose core grants are most like
// theirs (Jaccard at least minSimilarity, and strictly better than any
// other group's).
func (g *grouper) attach() {
	byEnt := map[string][]int{} // entitlement -> groups whose core holds it
	weak := map[int]bool{}
	g.scopes = map[scopeOf]map[int]bool{}
	for gi, gr := range g.groups {
		if gr.dead {
			continue
		}
		for _, m := range gr.members {
			k := scopeOf{g.ids[m].id.Provider, g.ids[m].id.Scope}
			if g.scopes[k] == nil {
				g.scopes[k] = map[int]bool{}
			}
			g.scopes[k][gi] = true
		}
		for _, e := range gr.core {
			byEnt[e] = append(byEnt[e], gi)
		}
		if strings.HasPrefix(gr.key, "stem:") && g.cohesion(gr) < minCohesion {
			weak[gi] = true
		}
	}
	for i := range g.ids {
		x := &g.ids[i]
		if (x.group >= 0 && !(weak[x.group] && x.ev == ByStem)) || len(x.ents) == 0 {
			continue
		}
		best, bestSim := g.closestCore(x, byEnt)
		if best < 0 || bestSim < minSimilarity || best == x.group || shared(x.ents, coreOf(g.groups[best].core, x.id.Provider)) < minShared {
			continue
		}
		if x.group >= 0 {
			from := g.groups[x.group]
			from.members = slices.DeleteFunc(from.members, func(m int) bool { return m == i })
		}
		g.groups[best].members = append(g.groups[best].members, i)
		x.group, x.ev, x.sim = best, ByGrants, bestSim
	}
}

// closestCore returns the group with members in x's scope whose provider
// core is most like x's grants, and the similarity; -1 when none, or when
// two tie.
func (g *grouper) closestCore(x *ident, byEnt map[string][]int) (int, float64) {
	seen := map[int]bool{}
	here := g.scopes[scopeOf{x.id.Provider, x.id.Scope}]
	best, bestSim, second := -1, 0.0, 0.0
	for _, e := range x.ents {
		for _, gi := range byEnt[e] {
			if seen[gi] || !here[gi] {
				continue
			}
			seen[gi] = true
			// A tie leaves second equal to bestSim: no choice.
			if s := jaccard(x.ents, coreOf(g.groups[gi].core, x.id.Provider)); s > bestSim {
				best, bestSim, second = gi, s, bestSim
			} else if s > second {
				second = s
			}
		}
	}
	if bestSim == second {
		return -1, 0
	}
	return best, bestSim
}

// cohesion is the members' mean grant similarity to the core of their
// provider, over the providers with two members or more; -1 when none has.
func (g *grouper) cohesion(gr *group) float64 {
	perProvider := map[nhi.Provider]int{}
	for _, m := range gr.members {
		perProvider[g.ids[m].id.Provider]++
	}
	sim, n := 0.0, 0
	for _, m := range gr.members {
		x := &g.ids[m]
		if perProvider[x.id.Provider] >= 2 {
			sim += jaccard(x.ents, coreOf(gr.core, x.id.Provider))
			n++
		}
	}
	if n == 0 {
		return -1
	}
	return sim / float64(n)
}

// leftovers groups what is still alone: identical non-empty grant sets in
// one provider and scope, then the same known owner in one provider and
// scope. Groups of one are dropped.
func (g *grouper) leftovers() {
	for _, pass := range []struct {
		ev  Evidence
		key func(x *ident) (string, string)
	}{
		{BySameGrants, func(x *ident) (string, string) {
			if len(x.ents) == 0 {
				return "", ""
			}
			return "grants:" + string(x.id.Provider) + "\x00" + x.id.Scope + "\x00" + strings.Join(x.ents, "\x00"), string(x.id.Provider) + "-" + x.id.Scope + "-shared-grants"
		}},
		{ByOwner, func(x *ident) (string, string) {
			if x.owner == "" {
				return "", ""
			}
			local, _, _ := strings.Cut(x.owner, "@")
			return "owner:" + string(x.id.Provider) + "\x00" + x.id.Scope + "\x00" + x.owner, local + "-" + string(x.id.Provider) + "-" + x.id.Scope
		}},
	} {
		buckets := map[string][]int{}
		labels := map[string]string{}
		for i := range g.ids {
			if g.ids[i].group >= 0 {
				continue
			}
			if k, label := pass.key(&g.ids[i]); k != "" {
				buckets[k] = append(buckets[k], i)
				labels[k] = label
			}
		}
		keys := make([]string, 0, len(buckets))
		for k, ms := range buckets {
			if len(ms) >= 2 {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, i := range buckets[k] {
				g.join(i, k, labels[k], pass.ev)
			}
		}
	}
}
