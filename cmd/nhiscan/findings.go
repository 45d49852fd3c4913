package main

import (
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules"
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
				return usagef("--format %q: want table, json, csv or ocsf", format)
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
						rows = append(rows, findingRow(r))
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
	f.StringVar(&format, "format", "table", "table, json, csv or ocsf (OCSF Detection Finding events, one a line, for SIEMs)")
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
	// OCSF Detection Finding events, one a line, for SIEMs.
	"ocsf": func(w io.Writer, rows []reports.FindingRow) error {
		_, err := reports.WriteFindingsOCSF(w, rows, reports.OCSFProduct{Version: version()}, time.Now().UTC())
		return err
	},
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
