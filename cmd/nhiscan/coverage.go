package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

// What a scan observed, said out loud: the summary, diff, --fail-on and
// scans list the scope × facet cells that were not observed instead of
// claiming "no change" there.

// notEvaluated lists the scope × facet cells a comparison of prev (nil for
// none) with cur could not judge: nhi.NotEvaluated, plus each provider-wide
// gap of a provider that has no scope in either scan (a collector that
// failed outright), which the coverage matrix has no cell for.
func notEvaluated(prev, cur *nhi.Inventory) []nhi.FacetStatus {
	cells := nhi.NotEvaluated(prev, cur)
	listed := map[nhi.Provider]bool{}
	for _, c := range cells {
		listed[c.Provider] = true
	}
	cells = append(cells, providerGapCells(cur, "this scan: ", listed)...)
	if prev != nil {
		cells = append(cells, providerGapCells(prev, "previous scan: ", listed)...)
	}
	sortCells(cells)
	return cells
}

// providerGapCells are the cells of inv's gaps of providers that have no
// scope in inv (nor in skip): one cell per gap, whose Why is the gap's
// source and kind after prefix.
func providerGapCells(inv *nhi.Inventory, prefix string, skip map[nhi.Provider]bool) []nhi.FacetStatus {
	scoped := map[nhi.Provider]bool{}
	for _, sc := range inv.Scopes {
		scoped[sc.Provider] = true
	}
	var cells []nhi.FacetStatus
	for i := range inv.Gaps {
		g := &inv.Gaps[i]
		if skip[g.Provider] || scoped[g.Provider] {
			continue
		}
		cells = append(cells, nhi.FacetStatus{Provider: g.Provider, Scope: g.Scope, Facet: facetOrAll(g.Hides()), Gap: g,
			Why: prefix + g.Source + " " + string(g.Kind)})
	}
	return cells
}

// sortCells sorts cells by provider, scope and facet.
func sortCells(cells []nhi.FacetStatus) {
	slices.SortStableFunc(cells, func(a, b nhi.FacetStatus) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Facet, b.Facet))
	})
}

// facetOrAll is the facet a cell names for a gap: its one facet, or ""
// (every facet) when it hides more than one or all.
func facetOrAll(fs []nhi.Facet) nhi.Facet {
	if len(fs) == 1 {
		return fs[0]
	}
	return ""
}

// unobserved lists the cells of inv's coverage matrix that were not
// observed, with the provider-wide gaps the matrix has no cell for.
func unobserved(inv *nhi.Inventory) []nhi.FacetStatus { return notEvaluated(nil, inv) }

// cellText is one cell: provider, scope, facet and why it was not observed.
func cellText(c nhi.FacetStatus) string {
	scope := c.Scope
	if scope == "" {
		scope = "(all scopes)"
	}
	facet := string(c.Facet)
	if facet == "" {
		facet = "(every facet)"
	}
	why := c.Why
	if why == "" {
		why = "observed"
	}
	return fmt.Sprintf("%s %s %s: %s", c.Provider, reports.TermText(scope), reports.TermText(facet), reports.TermText(why))
}

// writeCells prints cells one a line under indent, at most limit of them
// (0: all), then how many more and where to see them.
func writeCells(w io.Writer, indent string, cells []nhi.FacetStatus, limit int, seeAll string) {
	for i, c := range cells {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "%s… %d more (%s)\n", indent, len(cells)-limit, seeAll)
			return
		}
		fmt.Fprintf(w, "%s%s\n", indent, cellText(c))
	}
}

// gapText describes one gap: where, which call, its kind, the permission
// it needs when denied, the detail, and the facets it hides.
func gapText(g nhi.Gap) string {
	var b strings.Builder
	scope := g.Scope
	if scope == "" {
		scope = "(all scopes)"
	}
	fmt.Fprintf(&b, "%s %s %s: %s", g.Provider, reports.TermText(scope), reports.TermText(g.Source), g.Kind)
	if g.Identity != "" {
		fmt.Fprintf(&b, " for identity %s only", reports.TermText(g.Identity))
	}
	if g.Kind == nhi.GapDenied && g.Permission != "" {
		fmt.Fprintf(&b, " (needs %s)", reports.TermText(g.Permission))
	}
	if g.Detail != "" {
		fmt.Fprintf(&b, ": %s", reports.TermText(g.Detail))
	}
	switch hides := g.Hides(); {
	case len(hides) > 0:
		parts := make([]string, len(hides))
		for i, f := range hides {
			parts[i] = string(f)
		}
		fmt.Fprintf(&b, "; hides %s", reports.TermText(strings.Join(parts, ", ")))
	case g.Scope == "":
		b.WriteString("; hides every scope of the provider")
	default:
		b.WriteString("; hides the whole scope")
	}
	return b.String()
}

// collectedNothing says why inv observed nothing at all, or "" when it
// observed something. A scan observed nothing when something failed, it
// read no identity, and no cell of its coverage matrix was observed (every
// scope it attempted is hidden by its gaps). An inventory with neither
// scopes nor gaps is an observation of nothing, not a failure.
func collectedNothing(inv *nhi.Inventory) string {
	if len(inv.Identities) > 0 || len(inv.Gaps) == 0 {
		return ""
	}
	for _, c := range inv.Coverage().Matrix(inv) {
		if c.Observed {
			return ""
		}
	}
	const most = 5
	parts := make([]string, 0, most+1)
	for i, g := range inv.Gaps {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more gap(s)", len(inv.Gaps)-most))
			break
		}
		parts = append(parts, gapText(g))
	}
	return fmt.Sprintf("collected nothing: no identity read and every scope attempted is hidden by a gap: %s", strings.Join(parts, "; "))
}
