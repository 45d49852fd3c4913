package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// coverageWriters write catalog coverage in each --format.
var coverageWriters = map[string]func(io.Writer, reports.GovernanceReport) error{
	"text": reports.WriteGovernanceText,
	"json": reports.WriteGovernanceJSON,
	"csv":  reports.WriteGovernanceCSV,
}

// htmlTrend is how many stored scans the HTML report's coverage trend
// shows.
const htmlTrend = 10

func (a *app) catalogCoverageCmd() *cobra.Command {
	var (
		catalogs []string
		scanID   int64
		format   string
		trend    int
	)
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "How much of a scan the catalog governs: identities mapped, entitlements within a baseline, active owners, credential policies",
		Long: `coverage measures how much of a stored scan the owned-role catalog governs:
identities mapped to a role, entitlements within their role's baseline,
identities with an active accountable owner, and credentials under a role's
credential policy, in total and per provider, scope and team, with the trend
over the stored scans (each scan's snapshot measured with the current
catalog, as of the time that scan was evaluated).

Only observed facets count: an entitlement in a grant facet a coverage gap
hid is unknown, not outside a baseline; an identity whose ownership data was
not observed has an unknown owner, not none. The output lists those cells.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			write, ok := coverageWriters[format]
			if !ok {
				return usagef("--format %q: want text, json or csv", format)
			}
			if scanID < 0 || trend < 0 {
				return usagef("--scan and --trend must not be negative")
			}
			cfg, at, err := a.configAt()
			if err != nil {
				return err
			}
			cat, err := a.loadCatalog(cfg, catalogs, at)
			if err != nil {
				return err
			}
			st, err := a.openExisting(cmd.Context(), cfg.Database, readOnly)
			if err != nil {
				return err
			}
			defer st.Close()
			sc, inv, err := scanSnapshot(cmd.Context(), st, scanID)
			if err != nil {
				return err
			}
			r, err := coverageOf(cmd.Context(), st, sc, &inv, cat, trend)
			if err != nil {
				return err
			}
			return write(a.stdout, r)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&catalogs, "catalog", nil, "catalog files or directories (default: config 'catalog')")
	f.Int64Var(&scanID, "scan", 0, "scan id (default: the latest completed scan)")
	f.StringVar(&format, "format", "text", "text, json or csv")
	f.IntVar(&trend, "trend", 10, "how many stored scans the trend covers, this one included (0: no trend)")
	completeValues(cmd, "format", func() []string { return []string{"text", "json", "csv"} })
	return cmd
}

// configAt loads the configuration and the evaluation time (--as-of, or
// now).
func (a *app) configAt() (config.Config, time.Time, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return cfg, time.Time{}, err
	}
	at, err := a.evalTime()
	return cfg, at, err
}

// reportCoverage is the HTML report's catalog coverage section, with the
// trend over the last htmlTrend scans.
func (a *app) reportCoverage(ctx context.Context, st *store.Store, sc store.Scan, inv *nhi.Inventory, cat *catalog.Catalog) (*reports.GovernanceReport, error) {
	r, err := coverageOf(ctx, st, sc, inv, cat, htmlTrend)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// scanSnapshot returns a completed or partial scan (0: the latest) and its
// snapshot.
func scanSnapshot(ctx context.Context, st *store.Store, id int64) (store.Scan, nhi.Inventory, error) {
	var sc store.Scan
	var err error
	if id == 0 {
		sc, err = st.LatestScan(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return sc, nhi.Inventory{}, usagef("no completed scan yet: run 'nhiscan scan' first")
		}
	} else {
		sc, err = st.Scan(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return sc, nhi.Inventory{}, usagef("scan %d not found", id)
		}
	}
	if err != nil {
		return sc, nhi.Inventory{}, err
	}
	if sc.Status != store.ScanComplete && sc.Status != store.ScanPartial {
		return sc, nhi.Inventory{}, usagef("scan %d is %s: only completed or partial scans have a snapshot", sc.ID, sc.Status)
	}
	inv, _, err := st.Snapshot(ctx, sc.ID)
	return sc, inv, err
}

// evaluatedAt is when a stored scan was evaluated (its start for scans
// stored before that was recorded).
func evaluatedAt(sc store.Scan) time.Time {
	if !sc.EvaluatedAt.IsZero() {
		return sc.EvaluatedAt
	}
	return sc.Started
}

// coverageOf measures catalog coverage of a scan whose snapshot is inv,
// and the trend over the last trend completed or partial scans up to it,
// each from its own snapshot with the same catalog.
func coverageOf(ctx context.Context, st *store.Store, sc store.Scan, inv *nhi.Inventory, cat *catalog.Catalog, trend int) (reports.GovernanceReport, error) {
	r := reports.GovernanceReport{ScanID: sc.ID, EvaluatedAt: evaluatedAt(sc), CatalogHash: cat.Hash,
		Governance: analyzer.MeasureGovernance(inv, cat, evaluatedAt(sc))}
	if trend == 0 {
		return r, nil
	}
	scans, err := st.Scans(ctx)
	if err != nil {
		return r, err
	}
	for _, s := range scans { // newest first
		if len(r.Trend) == trend {
			break
		}
		if s.ID > sc.ID || (s.Status != store.ScanComplete && s.Status != store.ScanPartial) {
			continue
		}
		p := reports.GovernancePoint{ScanID: s.ID, EvaluatedAt: evaluatedAt(s), Total: r.Governance.Total}
		if s.ID != sc.ID {
			old, _, err := st.Snapshot(ctx, s.ID)
			if err != nil {
				return r, err
			}
			p.Total = analyzer.MeasureGovernance(&old, cat, p.EvaluatedAt).Total
		}
		r.Trend = append(r.Trend, p)
	}
	slices.Reverse(r.Trend)
	return r, nil
}
