package suggest

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// index answers "how many identities of the whole inventory would this
// selector pick", so that a proposed selector is kept only when it picks
// nothing outside its role: catalog roles match first-come, and a selector
// that also picked another role's identity would take it.
type index struct {
	byName map[nhi.Provider][]*nhi.Identity // sorted by name
	tags   map[string]int                   // provider, key, value -> identities
}

func newIndex(inv *nhi.Inventory) *index {
	ix := &index{byName: map[nhi.Provider][]*nhi.Identity{}, tags: map[string]int{}}
	for i := range inv.Identities {
		id := &inv.Identities[i]
		ix.byName[id.Provider] = append(ix.byName[id.Provider], id)
		for k, v := range id.Tags {
			ix.tags[tagIndexKey(scopeOf{id.Provider, id.Scope}, k, v)]++
		}
	}
	for _, ids := range ix.byName {
		slices.SortFunc(ids, func(a, b *nhi.Identity) int { return cmp.Compare(a.Name, b.Name) })
	}
	return ix
}

// countPrefix counts the identities of provider p whose name starts with
// prefix (or equals it, when exact), in scope and of kind when set.
func (ix *index) countPrefix(s catalog.Selector, prefix string, exact bool) int {
	ids := ix.byName[s.Provider]
	i := sort.Search(len(ids), func(i int) bool { return ids[i].Name >= prefix })
	n := 0
	for ; i < len(ids) && strings.HasPrefix(ids[i].Name, prefix); i++ {
		if exact && ids[i].Name != prefix {
			break
		}
		if s.Matches(ids[i]) {
			n++
		}
	}
	return n
}

// selectors proposes member selectors for a group, per provider and
// scope: the role tag, then a name prefix common to the remaining members'
// names, else one per name stem (with the kind when the members share it),
// each kept only when it picks no identity outside the group and some
// member no earlier selector picked; the members left are selected by id. Every selector
// names its scope: an identity in an account or project the draft never
// saw stays unmapped until a human extends the role, rather than being
// governed by a baseline nobody reviewed for it.
func (ix *index) selectors(gr *group, members []*ident) []catalog.Selector {
	var out []catalog.Selector
	byScope := map[scopeOf][]*ident{}
	var scopes []scopeOf
	for _, x := range members {
		k := scopeOf{x.id.Provider, x.id.Scope}
		if byScope[k] == nil {
			scopes = append(scopes, k)
		}
		byScope[k] = append(byScope[k], x)
	}
	slices.SortFunc(scopes, func(a, b scopeOf) int { return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.scope, b.scope)) })
	for _, sc := range scopes {
		ms := byScope[sc]
		covered := map[*ident]bool{}
		keep := func(s catalog.Selector, picked func() int) {
			var mine []*ident
			for _, x := range ms {
				if !covered[x] && s.Matches(x.id) {
					mine = append(mine, x)
				}
			}
			if len(mine) == 0 || picked() != len(mine) {
				return
			}
			for _, x := range mine {
				covered[x] = true
			}
			out = append(out, s)
		}
		if literal(sc.scope) && sc.scope != "" {
			if strings.HasPrefix(gr.key, "tag:") {
				for _, kv := range tagSpellings(ms) {
					s := catalog.Selector{Provider: sc.p, Scope: sc.scope, Tags: map[string]string{kv[0]: kv[1]}}
					keep(s, func() int { return ix.tags[tagIndexKey(sc, kv[0], kv[1])] })
				}
			}
			// One name prefix for every member left with a stem, when it
			// is exact; else one per stem.
			clusters := stemClusters(ms, covered)
			if len(clusters) > 1 {
				clusters = append([][]*ident{slices.Concat(clusters...)}, clusters...)
			}
			for _, cl := range clusters {
				if s, prefix, exact, ok := prefixSelector(sc, cl); ok {
					keep(s, func() int { return ix.countPrefix(s, prefix, exact) })
				}
			}
		}
		for _, x := range ms {
			// An id that is not UTF-8 cannot be written; the identity
			// stays unmapped.
			if !covered[x] && utf8.ValidString(x.id.ID) {
				out = append(out, catalog.Selector{Provider: sc.p, ID: x.id.ID})
			}
		}
	}
	return out
}

func tagIndexKey(sc scopeOf, k, v string) string {
	return string(sc.p) + "\x00" + sc.scope + "\x00" + k + "\x00" + v
}

// tagSpellings lists the role tags (key as spelled, value) of members that
// carry one, sorted.
func tagSpellings(ms []*ident) [][2]string {
	seen := map[[2]string]bool{}
	var out [][2]string
	for _, x := range ms {
		kv := [2]string{x.tagKey, x.tagVal}
		if x.tagVal != "" && !seen[kv] && utf8.ValidString(kv[0]) && utf8.ValidString(kv[1]) {
			seen[kv] = true
			out = append(out, kv)
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	return out
}

// stemClusters groups the members not yet covered by name stem, sorted by
// stem; members without a stem are left out.
func stemClusters(ms []*ident, covered map[*ident]bool) [][]*ident {
	by := map[string][]*ident{}
	for _, x := range ms {
		if !covered[x] && x.stem != "" {
			by[x.stem] = append(by[x.stem], x)
		}
	}
	stems := make([]string, 0, len(by))
	for s := range by {
		stems = append(stems, s)
	}
	slices.Sort(stems)
	out := make([][]*ident, len(stems))
	for i, s := range stems {
		out[i] = by[s]
	}
	return out
}

// minPrefix is the shortest name prefix worth a selector.
const minPrefix = 3

// prefixSelector builds a name selector in one scope from a cluster's
// longest common name prefix ending on a separator: the name itself when
// all are equal, else "prefix*"; with the kind when every member shares it.
func prefixSelector(sc scopeOf, cl []*ident) (catalog.Selector, string, bool, bool) {
	prefix := cl[0].id.Name
	same := true
	kind := cl[0].id.Kind
	for _, x := range cl[1:] {
		same = same && x.id.Name == prefix
		prefix = commonPrefix(prefix, x.id.Name)
		if x.id.Kind != kind {
			kind = ""
		}
	}
	if !same {
		// End the prefix on a separator, never inside a token:
		// "orders-api-" for "orders-api-web" and "orders-api-worker".
		prefix = prefix[:strings.LastIndexFunc(prefix, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })+1]
	}
	if len(prefix) < minPrefix || !literal(prefix) {
		return catalog.Selector{}, "", false, false
	}
	s := catalog.Selector{Provider: sc.p, Scope: sc.scope, Kind: kind, Name: prefix}
	if !same {
		s.Name += "*"
	}
	return s, prefix, same, true
}

// commonPrefix is the longest common prefix of a and b that ends on a
// character boundary.
func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for n > 0 && n < len(a) && !utf8.RuneStart(a[n]) {
		n--
	}
	return a[:n]
}
