package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func (a *app) findingsCmd() *cobra.Command {
	var (
		filter       store.FindingFilter
		sev, format  string
		scanID       int64
		includeDrift bool
	)
	cmd := &cobra.Command{
		Use:   "findings",
		Short: "List findings with their lifecycle (open, resolved, suppressed)",
		Long: `findings lists findings from the database. By default it shows the current
lifecycle of every finding still open; --status resolved|suppressed|all widens
it, and --scan ID shows exactly what one scan reported.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			write, ok := findingWriters[format]
			if !ok {
				return usagef("--format %q: want table, json or csv", format)
			}
			min, err := parseSeverity(sev)
			if err != nil {
				return err
			}
			filter.MinSeverity = min
			switch filter.Status {
			case "open", "resolved", "suppressed":
			case "all":
				filter.Status = ""
			default:
				return usagef("--status %q: want open, resolved, suppressed or all", filter.Status)
			}
			if filter.Provider != "" && !nhi.Provider(filter.Provider).Valid() {
				return usagef("--provider %q: want aws, azure, gcp or github", filter.Provider)
			}
			// A typo must not read as "no findings".
			if filter.Family != "" && !slices.Contains(nhi.Families, filter.Family) {
				return usagef("--family %q: want one of %s", filter.Family, strings.Join(nhi.Families, ", "))
			}
			if filter.RuleID != "" {
				if _, ok := rules.Lookup(filter.RuleID); !ok {
					return usagef("--rule %q: not a built-in rule ('nhiscan catalog rules' lists them)", filter.RuleID)
				}
			}
			if scanID < 0 {
				return usagef("--scan %d: want a positive scan id", scanID)
			}
			return a.readStore(ctx, func(_ config.Config, st *store.Store) error {
				var rows []reports.FindingRow
				if scanID > 0 {
					var err error
					rows, err = scanFindingRows(ctx, st, scanID)
					if err != nil {
						return err
					}
					rows = filterRows(rows, filter)
				} else {
					recs, err := st.Findings(ctx, filter)
					if err != nil {
						return err
					}
					for _, r := range recs {
						rows = append(rows, reports.FindingRow{Finding: r.Finding, Status: r.Status, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen})
					}
				}
				if !includeDrift && filter.Family == "" {
					rows = dropFamily(rows, nhi.FamilyDrift)
				}
				return write(a.stdout, rows)
			})
		},
	}
	cmd.AddCommand(a.retireCmd())
	f := cmd.Flags()
	f.StringVar(&filter.Family, "family", "", "only this family (orphaned, owner-moved, dormant, over-privileged, long-lived, unmapped, drift, risky-config)")
	f.StringVar(&filter.RuleID, "rule", "", "only this rule id")
	f.StringVar(&filter.Owner, "owner", "", "only findings of this owner (email or login)")
	f.StringVar(&filter.Provider, "provider", "", "only this provider (aws, azure, gcp, github)")
	f.StringVar(&sev, "severity", "", "minimum severity (info, low, medium, high, critical)")
	f.StringVar(&filter.Status, "status", "open", "open, resolved, suppressed or all")
	f.StringVar(&format, "format", "table", "table, json or csv")
	f.Int64Var(&scanID, "scan", 0, "show the findings one scan reported (default: current lifecycle)")
	f.BoolVar(&includeDrift, "drift", false, "include drift findings (see also 'nhiscan diff')")
	completeValues(cmd, "family", familyValues)
	completeValues(cmd, "rule", ruleValues)
	completeValues(cmd, "provider", providerValues)
	completeValues(cmd, "severity", severityValues)
	completeValues(cmd, "status", statusValues)
	completeValues(cmd, "format", formatValues)
	return cmd
}

var findingWriters = map[string]func(io.Writer, []reports.FindingRow) error{
	"table": reports.WriteFindingsTable,
	"json":  reports.WriteFindingsJSON,
	"csv":   reports.WriteFindingsCSV,
}

// readStore loads the configuration and opens its existing database for a
// reading command, and closes it when fn returns.
func (a *app) readStore(ctx context.Context, fn func(config.Config, *store.Store) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	st, err := a.openExisting(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}

// readStoreWithCatalog is readStore for commands that also show roles and
// owners: the catalog is optional and validated before the store opens.
func (a *app) readStoreWithCatalog(ctx context.Context, paths []string, fn func(*catalog.Catalog, *store.Store) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	cat, err := a.optionalCatalog(cfg, paths)
	if err != nil {
		return err
	}
	st, err := a.openExisting(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cat, st)
}

// openExisting opens a database that must already exist: reading commands
// never create an empty one.
func (a *app) openExisting(ctx context.Context, path string) (*store.Store, error) {
	if !fileExists(path) {
		return nil, usagef("database %s does not exist: run 'nhiscan scan' (or 'nhiscan demo') first", path)
	}
	return openStore(ctx, path)
}

// openStore opens (creating if needed) the database; a file that is not
// one is a usage error.
func openStore(ctx context.Context, path string) (*store.Store, error) {
	st, err := store.Open(ctx, path)
	if errors.Is(err, store.ErrNotDatabase) {
		return nil, usagef("--db %s is not an nhiscan database (not SQLite)", path)
	}
	return st, err
}

// scanFindingRows returns one scan's findings with their lifecycle: those
// it produced (open or suppressed) and those it resolved.
func scanFindingRows(ctx context.Context, st *store.Store, id int64) ([]reports.FindingRow, error) {
	if _, err := st.Scan(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, usagef("scan %d not found", id)
		}
		return nil, err
	}
	fs, err := st.ScanFindings(ctx, id)
	if err != nil {
		return nil, err
	}
	recs, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		return nil, err
	}
	life := make(map[string]store.FindingRecord, len(recs))
	for _, r := range recs {
		life[r.Fingerprint] = r
	}
	rows := make([]reports.FindingRow, 0, len(fs))
	for _, f := range fs {
		row := reports.FindingRow{Finding: f, Status: reports.StatusOpen}
		if f.Suppressed {
			row.Status = reports.StatusSuppressed
		}
		if r, ok := life[f.Fingerprint]; ok {
			row.FirstSeen, row.LastSeen = r.FirstSeen, r.LastSeen
		}
		rows = append(rows, row)
	}
	// Findings this scan resolved (an earlier scan reported them, this one
	// of a fully collected scope no longer does) are part of what it
	// reported: the remediation an auditor looks for.
	evs, err := st.FindingEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.Event != store.EventResolved {
			continue
		}
		r, ok := life[ev.Fingerprint]
		if !ok {
			continue
		}
		rows = append(rows, reports.FindingRow{Finding: r.Finding, Status: reports.StatusResolved, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen})
	}
	return rows, nil
}

func filterRows(rows []reports.FindingRow, f store.FindingFilter) []reports.FindingRow {
	out := rows[:0]
	for _, r := range rows {
		switch {
		case f.Status != "" && r.Status != f.Status,
			f.Family != "" && r.Family != f.Family,
			f.RuleID != "" && r.RuleID != f.RuleID,
			f.Owner != "" && r.Owner != f.Owner,
			f.Provider != "" && string(r.Provider) != f.Provider,
			f.MinSeverity != "" && r.Severity.Rank() < f.MinSeverity.Rank():
			continue
		}
		out = append(out, r)
	}
	return out
}

func dropFamily(rows []reports.FindingRow, family string) []reports.FindingRow {
	out := rows[:0]
	for _, r := range rows {
		if r.Family != family {
			out = append(out, r)
		}
	}
	return out
}

func parseScanID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("scan id %q: want a positive number", s)
	}
	return id, nil
}
