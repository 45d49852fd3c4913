package collectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// GapKind classifies an error for an nhi.Gap. Providers first translate
// their SDK errors into the sentinels of this package; every provider and
// the scan command then classify the same way:
//
//   - ErrDenied: denied
//   - ErrThrottled: throttled (the SDK's retries were exhausted)
//   - a deadline, a network timeout or ErrTimeout: timeout
//   - ErrUnavailable, ErrNotFound (the API or feature does not exist
//     there), or a cancelled context (the scan was stopped before the call
//     finished): unavailable
//   - anything else: error
func GapKind(err error) nhi.GapKind {
	var ne net.Error
	switch {
	case err == nil:
		return nhi.GapError
	case errors.Is(err, ErrDenied):
		return nhi.GapDenied
	case errors.Is(err, ErrThrottled):
		return nhi.GapThrottled
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return nhi.GapTimeout
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrNotFound), errors.Is(err, context.Canceled):
		return nhi.GapUnavailable
	}
	return nhi.GapError
}

// maxDetail bounds a gap's detail: a provider's error body can be long and
// is never stored whole.
const maxDetail = 300

// Detail reduces an error to a gap detail: one line, at most maxDetail
// bytes, cut at a rune boundary.
func Detail(err error) string {
	if err == nil {
		return ""
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Op describes one API operation a collector calls: the permission that
// lets it succeed, and the facets its failure hides. An operation whose
// failure leaves nothing of the scope readable (listing it, assuming a role
// into it) has no facets: its gap hides the whole scope.
type Op struct {
	Permission string
	Facets     []nhi.Facet
}

// Ops is a provider's table of operations, by the name it records as a
// gap's source (for example "iam:GetCredentialReport").
type Ops map[string]Op

// Gaps accumulates a collector's gaps, one per scope, operation and facet
// set, counting repeats. It is safe for concurrent use.
type Gaps struct {
	provider nhi.Provider
	ops      Ops
	mu       sync.Mutex
	gaps     map[gapKey]*nhi.Gap
	n        map[gapKey]int
}

type gapKey struct{ scope, op, facets, identity string }

// NewGaps returns an empty accumulator for provider p with its operation
// table.
func NewGaps(p nhi.Provider, ops Ops) *Gaps {
	return &Gaps{provider: p, ops: ops, gaps: map[gapKey]*nhi.Gap{}, n: map[gapKey]int{}}
}

// Add records that op failed in scope with err. The kind comes from
// GapKind, the permission from the operation table (named only when the
// call was denied), and the hidden facets from the table unless facets are
// given. An empty scope means every scope of the provider.
func (g *Gaps) Add(scope, op string, err error, facets ...nhi.Facet) {
	g.Record(scope, op, GapKind(err), Detail(err), facets...)
}

// Record records a gap that is not the result of one failed call (a
// feature the tenant lacks, a source not collected by configuration, a
// paging loop cut short), with its kind and detail.
func (g *Gaps) Record(scope, op string, kind nhi.GapKind, detail string, facets ...nhi.Facet) {
	g.record(scope, "", op, kind, detail, facets)
}

// AddIdentity records that op failed in scope for one identity only (its
// id): the gap hides its facets for that identity, and every other
// identity of the scope is still observed there (nhi.Gap.Identity).
func (g *Gaps) AddIdentity(scope, identity, op string, err error, facets ...nhi.Facet) {
	g.record(scope, identity, op, GapKind(err), Detail(err), facets)
}

func (g *Gaps) record(scope, identity, op string, kind nhi.GapKind, detail string, facets []nhi.Facet) {
	info, known := g.ops[op]
	if len(facets) == 0 && known {
		facets = info.Facets
	}
	facets = slices.Clone(facets)
	slices.Sort(facets)
	facets = slices.Compact(facets)
	k := gapKey{scope, op, fmt.Sprint(facets), identity}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n[k]++
	// Concurrent calls fail in any order: keep the most telling failure
	// (by kind, then detail), so the gap does not depend on which came
	// first.
	if old := g.gaps[k]; old != nil && !tells(kind, detail, old) {
		return
	}
	gap := &nhi.Gap{Provider: g.provider, Scope: scope, Source: op, Kind: kind, Detail: detail, Facets: facets, Identity: identity}
	if kind == nhi.GapDenied {
		gap.Permission = info.Permission
	}
	g.gaps[k] = gap
}

// kindRank orders gap kinds by how much they tell the operator: a refusal
// names the permission to grant.
var kindRank = map[nhi.GapKind]int{nhi.GapError: 1, nhi.GapUnavailable: 2, nhi.GapTimeout: 3, nhi.GapThrottled: 4, nhi.GapDenied: 5}

// tells reports whether a failure of kind with detail tells more than the
// recorded gap old: a higher-ranked kind, or the same kind and a detail
// that sorts first.
func tells(kind nhi.GapKind, detail string, old *nhi.Gap) bool {
	if r, s := kindRank[kind], kindRank[old.Kind]; r != s {
		return r > s
	}
	return detail < old.Detail
}

// Count returns how many gaps (not failed calls) are recorded for scope.
func (g *Gaps) Count(scope string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for k := range g.gaps {
		if k.scope == scope {
			n++
		}
	}
	return n
}

// Hidden reports whether a gap recorded so far hides facet f of scope.
func (g *Gaps) Hidden(scope string, f nhi.Facet) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, gap := range g.gaps {
		if (k.scope != scope && k.scope != "") || k.identity != "" {
			continue
		}
		if len(gap.Facets) == 0 {
			return true
		}
		for _, h := range gap.Facets {
			if h.Overlaps(f) {
				return true
			}
		}
	}
	return false
}

// List returns the gaps sorted by scope, source and facets. A gap whose
// operation failed more than once says how often, with the most telling of
// its failures.
func (g *Gaps) List() []nhi.Gap {
	g.mu.Lock()
	defer g.mu.Unlock()
	keys := make([]gapKey, 0, len(g.gaps))
	for k := range g.gaps {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.scope != b.scope {
			return a.scope < b.scope
		}
		if a.op != b.op {
			return a.op < b.op
		}
		if a.facets != b.facets {
			return a.facets < b.facets
		}
		return a.identity < b.identity
	})
	out := make([]nhi.Gap, 0, len(keys))
	for _, k := range keys {
		gap := *g.gaps[k]
		gap.Facets = slices.Clone(gap.Facets)
		if n := g.n[k]; n > 1 {
			gap.Detail = fmt.Sprintf("%d calls failed; %s", n, gap.Detail)
		}
		out = append(out, gap)
	}
	return out
}
