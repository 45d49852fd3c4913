package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// printDemoCoverage prints how much of the demo's last scan its catalog
// governs, the change since the baseline, and how to draft roles for the
// rest.
func (a *app) printDemoCoverage(ctx context.Context, st *store.Store, out scanOutcome, cat *catalog.Catalog, dir string) error {
	r, err := coverageOf(ctx, st, out.scan, &out.inv, cat, 2)
	if err != nil {
		return err
	}
	t := r.Governance.Total
	w := a.stdout
	fmt.Fprintf(w, "\ncatalog coverage (only observed facets count):\n")
	line := func(what string, n, d int, p float64) {
		fmt.Fprintf(w, "  %-38s %4d of %-4d %s\n", what, n, d, pctText(p, d))
	}
	line("identities mapped to a role", t.Mapped, t.Identities, t.MappedPct())
	line("with an active accountable owner", t.OwnerActive, t.Identities-t.OwnerUnknown, t.OwnerPct())
	line("entitlements within a baseline", t.WithinBaseline, t.Entitlements, t.BaselinePct())
	line("credentials under a credential policy", t.UnderPolicy, t.Credentials, t.PolicyPct())
	if n := len(r.Trend); n == 2 {
		first, last := r.Trend[0].Total, r.Trend[1].Total
		fmt.Fprintf(w, "  since scan %d: mapped %s -> %s, within a baseline %s -> %s\n", r.Trend[0].ScanID,
			pctText(first.MappedPct(), first.Identities), pctText(last.MappedPct(), last.Identities),
			pctText(first.BaselinePct(), first.Entitlements), pctText(last.BaselinePct(), last.Entitlements))
	}
	if unmapped := t.Identities - t.Mapped; unmapped > 0 {
		db, catDir := filepath.Join(dir, "nhiscan.db"), filepath.Join(dir, "catalog")
		fmt.Fprintf(w, "  %d identities are unmapped. Draft roles with 'nhiscan catalog suggest':\n", unmapped)
		fmt.Fprintf(w, "    from zero:           nhiscan catalog suggest --db %s --people %s --out %s\n",
			db, filepath.Join(catDir, "people.csv"), filepath.Join(dir, "catalog-draft.yaml"))
		fmt.Fprintf(w, "    beside this catalog: nhiscan catalog suggest --db %s --merge %s --out %s\n",
			db, catDir, filepath.Join(dir, "catalog-additions.yaml"))
	}
	return nil
}

func pctText(p float64, denominator int) string {
	if denominator <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", p)
}
