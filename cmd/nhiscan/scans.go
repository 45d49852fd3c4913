package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/textsafe"
	"github.com/nhiscan/nhiscan/reports"
)

// scansCmd lists the stored scans: which ran, which were partial, failed or
// interrupted, and what each observed, scope by scope and facet by facet.
func (a *app) scansCmd() *cobra.Command {
	var (
		format   string
		coverage bool
		scanID   int64
	)
	cmd := &cobra.Command{
		Use:   "scans",
		Short: "List stored scans with their status, coverage and gaps",
		Long: `scans lists the stored scans, newest first, with their status, scopes, gaps,
identities and findings. Below the table, one line per scan and scope lists
the facets that scan did not observe (the identity list of a kind, a
credential type, a grant kind, a usage source, login, trust, ownership) with
the gap that hid each. --coverage prints the whole coverage matrix instead:
every scope × facet, observed or not. --format json always includes it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usagef("--format %q: want table or json", format)
			}
			if scanID < 0 {
				return usagef("--scan %d: want a positive scan id", scanID)
			}
			return a.readStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				scans, err := st.Scans(cmd.Context())
				if err != nil {
					return err
				}
				if scanID > 0 {
					scans = oneScan(scans, scanID)
					if len(scans) == 0 {
						return usagef("scan %d not found", scanID)
					}
				}
				if format == "json" {
					return writeScansJSON(a.stdout, scans)
				}
				return writeScansTable(a.stdout, scans, coverage)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "table", "table or json")
	f.BoolVar(&coverage, "coverage", false, "print every scope × facet of each scan, observed or not")
	f.Int64Var(&scanID, "scan", 0, "only this scan")
	return cmd
}

func oneScan(scans []store.Scan, id int64) []store.Scan {
	for _, s := range scans {
		if s.ID == id {
			return []store.Scan{s}
		}
	}
	return nil
}

// scanMatrix is a stored scan's coverage matrix, from its scopes and gaps:
// each scope × facet its collectors read, observed or not, and each
// provider-wide gap of a provider with no scope at all.
func scanMatrix(s store.Scan) []nhi.FacetStatus {
	inv := nhi.Inventory{Scopes: s.Scopes, Gaps: s.Gaps}
	cells := append(inv.Coverage().Matrix(&inv), providerGapCells(&inv, "", nil)...)
	sortCells(cells)
	return cells
}

func writeScansJSON(w io.Writer, scans []store.Scan) error {
	type cell struct {
		Provider  string `json:"provider"`
		Scope     string `json:"scope"`
		Facet     string `json:"facet"`
		Observed  bool   `json:"observed"`
		Why       string `json:"why,omitempty"`
		GapSource string `json:"gap_source,omitempty"`
	}
	type row struct {
		ID          int64  `json:"id"`
		Status      string `json:"status"`
		Started     string `json:"started"`
		Ended       string `json:"ended,omitempty"`
		EvaluatedAt string `json:"evaluated_at,omitempty"`
		Source      string `json:"source"`
		Reason      string `json:"reason,omitempty"`
		Scopes      int    `json:"scopes"`
		Gaps        int    `json:"gaps"`
		Identities  int    `json:"identities"`
		Findings    int    `json:"findings"`
		SHA256      string `json:"snapshot_sha256,omitempty"`
		Coverage    []cell `json:"coverage"`
	}
	rows := make([]row, 0, len(scans))
	for _, s := range scans {
		cells := []cell{}
		for _, c := range scanMatrix(s) {
			x := cell{Provider: string(c.Provider), Scope: c.Scope, Facet: string(c.Facet), Observed: c.Observed, Why: c.Why}
			if c.Gap != nil {
				x.GapSource = c.Gap.Source
			}
			cells = append(cells, x)
		}
		rows = append(rows, row{s.ID, string(s.Status), fmtTime(s.Started), fmtTime(s.Ended), fmtTime(s.EvaluatedAt),
			s.Source, s.Reason, len(s.Scopes), len(s.Gaps), s.Identities, s.Findings, s.InventorySHA256, cells})
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(textsafe.JSON(b), '\n'))
	return err
}

func writeScansTable(w io.Writer, scans []store.Scan, full bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCAN\tSTATUS\tSTARTED\tSCOPES\tGAPS\tIDENTITIES\tFINDINGS\tSOURCE\tREASON")
	for _, s := range scans {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", s.ID, s.Status, fmtTime(s.Started), len(s.Scopes), len(s.Gaps),
			s.Identities, s.Findings, reports.TermText(s.Source), reports.TermText(s.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if full {
		return writeMatrix(w, scans)
	}
	first := true
	for _, s := range scans {
		for _, line := range unobservedByScope(s) {
			if first {
				fmt.Fprintf(w, "\nnot observed (findings, drift and resolutions there are unknown; --coverage prints the whole matrix):\n")
				first = false
			}
			fmt.Fprintf(w, "  scan %d %s\n", s.ID, line)
		}
	}
	return nil
}

// unobservedByScope is one line per scope of a scan listing the facets it
// did not observe, each with the gap (or reason) that hid it.
func unobservedByScope(s store.Scan) []string {
	var lines []string
	var cur string
	var facets []string
	flush := func() {
		if cur != "" {
			lines = append(lines, cur+": "+strings.Join(facets, ", "))
		}
	}
	for _, c := range scanMatrix(s) {
		if c.Observed {
			continue
		}
		scope := c.Scope
		if scope == "" {
			scope = "(all scopes)"
		}
		key := fmt.Sprintf("%s %s", c.Provider, reports.TermText(scope))
		if key != cur {
			flush()
			cur, facets = key, nil
		}
		facet := string(c.Facet)
		if facet == "" {
			facet = "(every facet)"
		}
		facets = append(facets, fmt.Sprintf("%s (%s)", reports.TermText(facet), reports.TermText(c.Why)))
	}
	flush()
	return lines
}

// writeMatrix prints each scan's whole coverage matrix.
func writeMatrix(w io.Writer, scans []store.Scan) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSCAN\tPROVIDER\tSCOPE\tFACET\tOBSERVED\tWHY NOT")
	for _, s := range scans {
		for _, c := range scanMatrix(s) {
			observed := "yes"
			if !c.Observed {
				observed = "no"
			}
			scope, facet := c.Scope, string(c.Facet)
			if scope == "" {
				scope = "(all scopes)"
			}
			if facet == "" {
				facet = "(every facet)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, c.Provider, reports.TermText(scope), reports.TermText(facet), observed, reports.TermText(c.Why))
		}
	}
	return tw.Flush()
}
