package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/collectors"
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
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			at, err := a.evalTime()
			if err != nil {
				return err
			}
			gate, err := parseSeverity(failOn)
			if err != nil {
				return err
			}
			if fi, err := os.Stat(htmlOut); htmlOut != "" && err == nil && fi.IsDir() {
				return usagef("--html %s is a directory: name the HTML file to write", htmlOut)
			}
			cat, err := a.loadCatalog(cfg, catalogs, at)
			if err != nil {
				return err
			}
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
				cs, err := a.buildCollectors(cfg)
				if err != nil {
					return err
				}
				collect = a.collectAll(cs)
			}
			st, err := openStore(ctx, cfg.Database)
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
			if gate != "" && out.scan.Status == store.ScanPartial {
				// A gate passing on a partial scan proves less than it seems.
				fmt.Fprintf(a.stderr, "nhiscan: warning: scan %d is partial (%d gap(s)): --fail-on %s cannot see findings in what was not collected\n",
					out.scan.ID, len(out.inv.Gaps), gate)
			}
			return gateFindings(out.result.Findings, gate)
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

func readInventory(path string) (nhi.Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nhi.Inventory{}, err
	}
	defer f.Close()
	// nhi.Decode is strict: version and collected_at are required (so "{}"
	// is not a complete, empty scan) and every identity's scope must be
	// listed in scopes.
	inv, err := nhi.Decode(f)
	if err != nil {
		return nhi.Inventory{}, fmt.Errorf("%s: %w", path, err)
	}
	return inv, nil
}

type collectFunc func(ctx context.Context) (nhi.Inventory, error)

// collectAll runs every collector concurrently. A collector that fails
// outright becomes a provider-wide gap, so its provider counts as partial
// (nothing reported removed); the scan fails only when every one fails.
func (a *app) collectAll(cs []collectors.Collector) collectFunc {
	return func(ctx context.Context) (nhi.Inventory, error) {
		invs := make([]nhi.Inventory, len(cs))
		errs := make([]error, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() {
				start := a.now()
				a.prog.start(c.Provider())
				invs[i], errs[i] = c.Collect(ctx)
				a.prog.done(c.Provider(), invs[i], errs[i], a.now().Sub(start))
			})
		}
		wg.Wait()
		// An interrupted collection (Ctrl-C, SIGTERM) fails the scan with
		// that reason: collectors turn a cancelled call into a gap, which
		// must not be stored as a partial scan.
		if err := ctx.Err(); err != nil {
			return nhi.Inventory{}, fmt.Errorf("collection interrupted: %w", err)
		}
		var ok []nhi.Inventory
		var failed []string
		for i, c := range cs {
			if errs[i] != nil {
				a.log.Error("collector failed", "provider", c.Provider(), "err", errs[i])
				failed = append(failed, fmt.Sprintf("%s: %v", c.Provider(), errs[i]))
				ok = append(ok, nhi.Inventory{Version: nhi.SchemaVersion, Gaps: []nhi.Gap{{
					Provider: c.Provider(), Source: "collect", Kind: gapKind(errs[i]), Detail: errs[i].Error(),
				}}})
				continue
			}
			ok = append(ok, invs[i])
		}
		if len(failed) == len(cs) {
			return nhi.Inventory{}, fmt.Errorf("every collector failed: %s", strings.Join(failed, "; "))
		}
		inv := nhi.Merge(ok...)
		if inv.CollectedAt.IsZero() {
			inv.CollectedAt = a.now().UTC()
		}
		return inv, nil
	}
}

func gapKind(err error) nhi.GapKind {
	switch {
	case errors.Is(err, collectors.ErrDenied):
		return nhi.GapDenied
	case errors.Is(err, collectors.ErrThrottled):
		return nhi.GapThrottled
	case errors.Is(err, context.DeadlineExceeded):
		return nhi.GapTimeout
	}
	return nhi.GapError
}

// scanOutcome is what one scan produced.
type scanOutcome struct {
	scan     store.Scan
	inv      nhi.Inventory
	result   analyzer.Result
	previous *store.Scan
}

// scanOnce runs one scan end to end under the store's single-writer lock.
// Any failure after BeginScan marks the scan failed; an interrupted process
// leaves it running, and the next scan marks it failed.
func (a *app) scanOnce(ctx context.Context, st *store.Store, cat *catalog.Catalog, at time.Time, source string, collect collectFunc) (out scanOutcome, err error) {
	id, err := st.BeginScan(ctx, store.ScanMeta{Started: a.now().UTC(), ToolVersion: version(), CatalogHash: cat.Hash, Source: source})
	if err != nil {
		return out, err
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
	in := analyzer.Input{Inventory: inv, Catalog: cat, Now: at}
	if prev, err := st.LatestScan(ctx); err == nil {
		snap, _, err := st.Snapshot(ctx, prev.ID)
		if err != nil {
			return out, fmt.Errorf("previous scan %d: %w", prev.ID, err)
		}
		in.Previous = &snap
		out.previous = &prev
	} else if !errors.Is(err, store.ErrNotFound) {
		return out, err
	}
	cert, err := st.LatestCertification(ctx)
	if err != nil {
		return out, err
	}
	in.Certified = cert
	res := analyzer.Analyze(in)
	if err := st.FinishScan(ctx, id, store.FinishInput{Ended: a.now().UTC(), Inventory: inv, Findings: res.Findings, Ownership: res.Ownership, EvaluatedAt: at}); err != nil {
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
	return out, nil
}

// gateFindings implements --fail-on.
func gateFindings(fs []nhi.Finding, gate nhi.Severity) error {
	if gate == "" {
		return nil
	}
	n := 0
	for _, f := range fs {
		if !f.Suppressed && f.Severity.Rank() >= gate.Rank() {
			n++
		}
	}
	if n > 0 {
		return failError{fmt.Sprintf("%d unsuppressed finding(s) at or above %s", n, gate)}
	}
	return nil
}

func (a *app) printSummary(w io.Writer, out scanOutcome) {
	sc := out.scan
	fmt.Fprintf(w, "scan %d %s: %d identities in %d scopes, %d gap(s); evaluated as of %s\n",
		sc.ID, sc.Status, len(out.inv.Identities), len(out.inv.Scopes), len(out.inv.Gaps), fmtTime(sc.EvaluatedAt))
	for _, g := range out.inv.Gaps {
		scope := g.Scope
		if scope == "" {
			scope = "(all scopes)"
		}
		what := ""
		if g.UsageOnly {
			what = " (usage data only)"
		}
		fmt.Fprintf(w, "  gap: %s %s %s %s%s %s\n", g.Provider, reports.TermText(scope), reports.TermText(g.Source), g.Kind, what, reports.TermText(g.Permission))
	}
	open, suppressed := 0, 0
	fam, sev, own := map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range out.result.Findings {
		if f.Suppressed {
			suppressed++
			continue
		}
		open++
		fam[f.Family]++
		sev[string(f.Severity)]++
		o := f.Owner
		if o == "" {
			o = "(no owner)"
		}
		own[o]++
	}
	fmt.Fprintf(w, "findings: %d open, %d suppressed by exceptions\n", open, suppressed)
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
	for _, x := range out.result.ExpiredExceptions {
		fmt.Fprintf(w, "  exception %s (%s) expired %s: %d finding(s) no longer suppressed\n", reports.TermText(x.ID), x.Rule, fmtTime(x.Expires), x.Findings)
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// progress shows per-provider collection progress on a terminal; quiet
// otherwise (the log carries the same facts at info level).
type progress struct {
	a  *app
	mu sync.Mutex
}

func (a *app) newProgress() *progress { return &progress{a: a} }

// scope is the collectors' Progress hook: one line per finished account,
// subscription, project or organisation.
func (p *progress) scope(d collectors.ScopeDone) {
	p.a.log.Info("scope collected", "provider", d.Provider, "scope", d.Scope, "phase", d.Phase,
		"identities", d.Identities, "gaps", d.Gaps, "done", d.Done, "total", d.Total)
	if !p.a.isTerminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	what := d.Phase
	if d.Identities >= 0 {
		what = fmt.Sprintf("%d identities", d.Identities)
		if d.Phase != "" {
			what += " (" + d.Phase + ")"
		}
	}
	if d.Gaps > 0 {
		what += fmt.Sprintf(", %d gap(s)", d.Gaps)
	}
	count := ""
	if d.Total > 0 {
		count = fmt.Sprintf("[%d/%d]", d.Done, d.Total)
	}
	fmt.Fprintf(p.a.stderr, "  %-7s %-9s %-40s %s\n", d.Provider, count, reports.TermText(d.Scope), reports.TermText(what))
}

func (p *progress) start(pv nhi.Provider) {
	p.a.log.Info("collecting", "provider", pv)
	if p.a.isTerminal {
		p.mu.Lock()
		fmt.Fprintf(p.a.stderr, "  %-7s collecting…\n", pv)
		p.mu.Unlock()
	}
}

func (p *progress) done(pv nhi.Provider, inv nhi.Inventory, err error, took time.Duration) {
	if err != nil {
		p.a.log.Warn("collection failed", "provider", pv, "err", err)
	} else {
		p.a.log.Info("collected", "provider", pv, "identities", len(inv.Identities), "scopes", len(inv.Scopes), "gaps", len(inv.Gaps), "took", took.Round(time.Millisecond))
	}
	if !p.a.isTerminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		fmt.Fprintf(p.a.stderr, "  %-7s failed after %s: %s\n", pv, took.Round(time.Millisecond), reports.TermText(err.Error()))
		return
	}
	fmt.Fprintf(p.a.stderr, "  %-7s %d identities in %d scopes, %d gap(s) (%s)\n", pv, len(inv.Identities), len(inv.Scopes), len(inv.Gaps), took.Round(time.Millisecond))
}
