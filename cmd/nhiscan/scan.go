package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/boundedio"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func (a *app) scanCmd() *cobra.Command {
	var (
		catalogs  []string
		inventory string
		failOn    string
		htmlOut   string
	)
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Collect inventory, analyse it against the catalog and store the results",
		Long: `scan runs the configured collectors (or imports --inventory FILE, the
documented JSON inventory form), analyses the inventory against the catalog,
the previous scan and the last certification, and stores the snapshot and
findings. With --fail-on SEVERITY it exits 1 when unsuppressed findings at or
above that severity exist, for CI gating.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			gate, err := parseSeverity(failOn)
			if err != nil {
				return err
			}
			if fi, err := os.Stat(htmlOut); htmlOut != "" && err == nil && fi.IsDir() {
				return usagef("--html %s is a directory: name the HTML file to write", htmlOut)
			}
			cfg, cat, at, err := a.configAndCatalog(catalogs)
			if err != nil {
				return err
			}
			a.tagScanLogs()
			var collect collectFunc
			source := "collectors"
			if inventory != "" {
				inv, err := readInventory(inventory)
				if err != nil {
					return usageError{err}
				}
				collect = func(context.Context) (nhi.Inventory, error) { return inv, nil }
				source = "inventory:" + inventory
			} else {
				a.outsideBaseline = analyzer.OutsideBaseline(cat)
				cs, err := a.buildCollectors(cfg, cat.Defaults.OwnerTagKeys)
				if err != nil {
					return err
				}
				collect = a.collectAll(cs)
			}
			st, err := a.openStore(ctx, cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			a.etags.st = st
			out, err := a.scanOnce(ctx, st, cat, at, source, collect)
			if err != nil {
				return err
			}
			a.printSummary(a.stdout, out)
			if htmlOut != "" {
				if err := a.writeHTML(ctx, st, out.scan.ID, cat, htmlOut); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "report: %s\n", htmlOut)
			}
			if gate != "" {
				a.warnUnjudged(out, gate)
			}
			return gateFindings(&out.tally, gate)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&catalogs, "catalog", nil, "catalog file or directory (repeatable; default: config 'catalog')")
	f.StringVar(&inventory, "inventory", "", "import this JSON inventory instead of running collectors")
	f.StringVar(&failOn, "fail-on", "", "exit 1 when unsuppressed findings at or above this severity exist (info|low|medium|high|critical)")
	completeValues(cmd, "fail-on", severityValues)
	f.StringVar(&htmlOut, "html", "", "also write the HTML report of this scan to this file")
	return cmd
}

// readInventory reads --inventory: a regular file (a named pipe or a
// device is refused before it is opened) of at most nhi.MaxInventorySize.
func readInventory(path string) (nhi.Inventory, error) {
	b, err := boundedio.ReadFile(path, nhi.MaxInventorySize)
	if err != nil {
		var big *boundedio.TooLargeError
		if errors.As(err, &big) {
			return nhi.Inventory{}, fmt.Errorf("--inventory %s: %s", path, big.For("an inventory"))
		}
		return nhi.Inventory{}, fmt.Errorf("--inventory %s: %w", path, err)
	}
	// nhi.Decode is strict: version and collected_at are required (so "{}"
	// is not a complete, empty scan) and every identity's scope must be
	// listed in scopes.
	inv, err := nhi.Decode(bytes.NewReader(b))
	if err != nil {
		return nhi.Inventory{}, fmt.Errorf("%s: %w", path, err)
	}
	return inv, nil
}

// scanOutcome is what one scan produced.
type scanOutcome struct {
	scan store.Scan
	inv  nhi.Inventory
	// result is the analysis's, without its findings: they went to the
	// store as the analysis made them; tally counts them.
	result analyzer.Result
	tally  findingTally
	// previous is the scan drift was judged against and its snapshot; nil
	// for a first scan.
	previous    *store.Scan
	previousInv *nhi.Inventory
	// remediated are the findings this scan resolved after revocation
	// actions planned to remediate them (store.LinkRemediations).
	remediated []store.Remediation
}

// scanOnce runs one scan end to end under the store's single-writer lock.
// Any failure after BeginScan marks the scan failed; an interrupted process
// leaves it running, and the next scan marks it failed. A scan that
// collected nothing at all fails too: it would otherwise resolve findings
// and report drift from no data, and become the next scan's baseline.
func (a *app) scanOnce(ctx context.Context, st *store.Store, cat *catalog.Catalog, at time.Time, source string, collect collectFunc) (out scanOutcome, err error) {
	id, err := st.BeginScan(ctx, store.ScanMeta{Started: a.now().UTC(), ToolVersion: version(), CatalogHash: cat.Hash, Source: source})
	if err != nil {
		return out, err
	}
	if a.scanBegun != nil {
		a.scanBegun(id)
	}
	defer func() {
		if err != nil {
			if ferr := st.FailScan(context.WithoutCancel(ctx), id, err.Error(), a.now().UTC()); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
	}()
	inv, err := collect(ctx)
	if err != nil {
		return out, err
	}
	if err := inv.Validate(); err != nil {
		return out, fmt.Errorf("collected inventory is invalid: %w", err)
	}
	if why := collectedNothing(&inv); why != "" {
		return out, fmt.Errorf("scan %d: %s", id, why)
	}
	in := analyzer.Input{Inventory: inv, Catalog: cat, Now: at}
	prev, prevInv, err := baseline(ctx, st, 0)
	switch {
	case err == nil:
		in.Previous, out.previous, out.previousInv = prevInv, prev, prevInv
	case !errors.Is(err, store.ErrNotFound):
		return out, err
	}
	// How long each grant has been seen: the unused-entitlement rule's
	// grace period for grants the provider does not date.
	nhi.StampFirstSeen(&in.Inventory, in.Previous)
	inv = in.Inventory
	cert, err := st.LatestCertification(ctx)
	if err != nil {
		return out, err
	}
	in.Certified = cert
	res, err := a.analyseInto(ctx, st, id, in, &out.tally)
	if err != nil {
		return out, err
	}
	for _, x := range res.ExpiredExceptions {
		if err := st.Audit(ctx, store.AuditEntry{At: a.now().UTC(), Actor: "nhiscan", Action: "exception.expired",
			Subject: "exception:" + x.ID, Detail: map[string]string{
				"rule": x.Rule, "expired": x.Expires.Format(time.RFC3339), "scan": fmt.Sprint(id), "findings_reopened": fmt.Sprint(x.Findings),
			}}); err != nil {
			return out, err
		}
	}
	sc, err := st.Scan(ctx, id)
	if err != nil {
		return out, err
	}
	out.scan, out.inv, out.result = sc, inv, res
	// The scan is stored: a failure to link remediations is retried by the
	// next scan or revoke status, never a failed scan.
	if out.remediated, err = st.LinkRemediations(ctx, a.now().UTC()); err != nil {
		a.log.Warn("link remediated findings", "scan", id, "error", err)
	}
	return out, nil
}

// warnUnjudged says which scope × facet cells --fail-on could not judge: a
// gate that passes proves nothing about what was not observed.
func (a *app) warnUnjudged(out scanOutcome, gate nhi.Severity) {
	cells := notEvaluated(out.previousInv, &out.inv)
	if len(cells) == 0 {
		return
	}
	fmt.Fprintf(a.stderr, "nhiscan: warning: --fail-on %s judged only what scan %d observed; it could not judge %d scope × facet cell(s):\n",
		gate, out.scan.ID, len(cells))
	writeCells(a.stderr, "  ", cells, summaryCells, "nhiscan diff lists them all")
}

// gateFindings implements --fail-on.
func gateFindings(t *findingTally, gate nhi.Severity) error {
	if gate == "" {
		return nil
	}
	if n := t.atLeast(gate); n > 0 {
		return failError{fmt.Sprintf("%d unsuppressed finding(s) at or above %s", n, gate)}
	}
	return nil
}

// printSummary prints what a scan found: its gaps with their reasons, the
// drift against the previous scan with the cells it could not judge, and
// the findings by family, severity and owner.
func (a *app) printSummary(w io.Writer, out scanOutcome) {
	sc := out.scan
	fmt.Fprintf(w, "scan %d %s: %d identities in %d scopes, %d gap(s); evaluated as of %s\n",
		sc.ID, sc.Status, len(out.inv.Identities), len(out.inv.Scopes), len(out.inv.Gaps), fmtTime(sc.EvaluatedAt))
	for _, g := range out.inv.Gaps {
		fmt.Fprintf(w, "  gap: %s\n", gapText(g))
	}
	printDrift(w, out)
	printFindingCounts(w, &out.tally, out.result.ExpiredExceptions)
	if n := len(out.remediated); n > 0 {
		fmt.Fprintf(w, "remediated: %d finding(s) resolved after revocation actions (nhiscan revoke status)\n", n)
	}
}

// summaryCells bounds the cells the summary and --fail-on list; diff and
// scans --coverage list them all.
const summaryCells = 20

// printDrift says how much drift the scan found where both scans observed,
// and lists the scope × facet cells where it could not tell.
func printDrift(w io.Writer, out scanOutcome) {
	// Drift since the certification is judged against the certified
	// state, not the previous scan: the findings count it.
	drift := out.tally.drift
	if out.previous == nil {
		fmt.Fprintf(w, "drift: none judged (no earlier scan to compare with)\n")
		if cells := unobserved(&out.inv); len(cells) > 0 {
			fmt.Fprintf(w, "  not observed: %d scope × facet cell(s); findings there are unknown:\n", len(cells))
			writeCells(w, "    ", cells, summaryCells, "nhiscan scans --coverage lists them all")
		}
		return
	}
	cells := notEvaluated(out.previousInv, &out.inv)
	if len(cells) == 0 {
		fmt.Fprintf(w, "drift since scan %d: %d change(s); both scans observed every scope and facet they cover\n", out.previous.ID, drift)
		return
	}
	fmt.Fprintf(w, "drift since scan %d: %d change(s) in what both scans observed\n", out.previous.ID, drift)
	fmt.Fprintf(w, "  not evaluated: %d scope × facet cell(s); additions, removals, changes and resolutions there are unknown:\n", len(cells))
	writeCells(w, "    ", cells, summaryCells, "nhiscan diff lists them all")
}

// printFindingCounts prints the open findings by family, severity and
// owner, and the exceptions that expired.
func printFindingCounts(w io.Writer, t *findingTally, expired []analyzer.ExpiredException) {
	fam, sev, own := t.family, t.severity, t.owner
	fmt.Fprintf(w, "findings: %d open, %d suppressed by exceptions\n", t.total-t.suppressed, t.suppressed)
	var parts []string
	for _, f := range nhi.Families {
		if fam[f] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f, fam[f]))
		}
	}
	fmt.Fprintf(w, "  by family:   %s\n", strings.Join(parts, ", "))
	parts = parts[:0]
	for i := len(nhi.Severities) - 1; i >= 0; i-- {
		s := string(nhi.Severities[i])
		if sev[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, sev[s]))
		}
	}
	fmt.Fprintf(w, "  by severity: %s\n", strings.Join(parts, ", "))
	type kv struct {
		k string
		v int
	}
	var owners []kv
	for k, v := range own {
		owners = append(owners, kv{k, v})
	}
	sort.Slice(owners, func(i, j int) bool {
		if owners[i].v != owners[j].v {
			return owners[i].v > owners[j].v
		}
		return owners[i].k < owners[j].k
	})
	parts = parts[:0]
	for i, o := range owners {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("… %d more", len(owners)-8))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", reports.TermText(o.k), o.v))
	}
	fmt.Fprintf(w, "  by owner:    %s\n", strings.Join(parts, ", "))
	for _, x := range expired {
		fmt.Fprintf(w, "  exception %s (%s) expired %s: %d finding(s) no longer suppressed\n", reports.TermText(x.ID), x.Rule, fmtTime(x.Expires), x.Findings)
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
