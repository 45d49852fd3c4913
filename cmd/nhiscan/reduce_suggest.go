package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/reduce"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

func (a *app) reduceSuggestCmd() *cobra.Command {
	var (
		scanID int64
		format string
	)
	cmd := &cobra.Command{
		Use:   "suggest [CATALOG...]",
		Short: "Per identity, the grants and AWS services unused within the window, a least-privilege policy, and per role the baseline its members used",
		Long: `suggest reads a stored scan (default: the latest) and its unused-entitlement
findings, and prints for each identity the grants to remove and, for an AWS
policy, the services to drop, with a least-privilege policy document built
from the services and actions used within the window; and for each catalog
role the entitlements its members used. Where the GCP IAM recommender made
a role recommendation on a binding, it is shown with the suggestion: a
REPLACE_ROLE as "replace roles/X with roles/Y", a REMOVE_ROLE as a removal,
each naming the recommendation as its evidence. It changes nothing: a campaign's
reduce decision chooses grants (campaign items offer these), and
'nhiscan revoke plan' applies them with the usual guardrails and rollback.

A grant whose use is unknown (the source was not read, its data does not
cover the window, the identity or grant is too young) is never suggested for
removal, even when the recommender recommends it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if scanID < 0 {
				return usagef("--scan %d: want a positive scan id", scanID)
			}
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			ctx := cmd.Context()
			return a.readStoreWithCatalog(ctx, args, func(cat *catalog.Catalog, st *store.Store) error {
				sc, inv, err := scanSnapshot(ctx, st, scanID)
				if err != nil {
					return err
				}
				fs, err := st.ScanFindings(ctx, sc.ID)
				if err != nil {
					return err
				}
				own, err := st.ScanOwnership(ctx, sc.ID)
				if err != nil {
					return err
				}
				// Without a catalog (none configured), the default window.
				window := catalog.DefaultDefaults.UnusedWindow
				if cat != nil && cat.Defaults.UnusedWindow > 0 {
					window = cat.Defaults.UnusedWindow
				}
				res := reduce.Suggest(reduce.Input{Inventory: &inv, Findings: fs, Ownership: own, Now: evaluatedAt(sc), Window: window})
				if format == "json" {
					return a.printJSON(res)
				}
				writeReduce(a.stdout, sc.ID, res)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.Int64Var(&scanID, "scan", 0, "scan id (default: the latest completed scan)")
	f.StringVar(&format, "format", "text", "text or json")
	return cmd
}

// recommendation is the text naming the provider's recommendation on a
// suggested grant, if any.
func recommendation(g reduce.Grant) string {
	if g.Recommendation == "" {
		return ""
	}
	out := "\n          recommended by " + reports.TermText(g.Source) + " " + reports.TermText(g.RecommendationSubtype) + " " + reports.TermText(g.Recommendation)
	if g.RecommendationAsOf != "" {
		out += " (as of " + reports.TermText(g.RecommendationAsOf) + ")"
	}
	if g.Finding == "" {
		out += "; no nhiscan finding: the recommendation is the only evidence"
	}
	return out
}

// writeReduce prints the suggestions for a terminal; every collected
// string goes through reports.TermText.
func writeReduce(w io.Writer, scan int64, res reduce.Result) {
	t := reports.TermText
	if len(res.Identities) == 0 {
		fmt.Fprintf(w, "scan %d: no unused entitlement was found where usage was observed\n", scan)
	}
	for _, s := range res.Identities {
		fmt.Fprintf(w, "%s %s %s (%s)", s.Provider, t(s.Scope), t(s.IdentityName), t(s.IdentityID))
		if s.RoleID != "" {
			fmt.Fprintf(w, " role %s", t(s.RoleID))
		}
		fmt.Fprintln(w)
		for _, g := range s.Remove {
			fmt.Fprintf(w, "  remove  %s  (%s, %s: last used %s)%s\n", t(g.GrantID), t(g.Source), t(g.Window), t(g.LastUsed), recommendation(g))
		}
		for _, g := range s.Replace {
			fmt.Fprintf(w, "  replace %s  with %s  (%s, %s: last used %s)%s\n", t(g.GrantID), t(strings.Join(g.ReplaceWith, ", ")),
				t(g.Source), t(g.Window), t(g.LastUsed), recommendation(g))
		}
		for _, g := range s.Narrow {
			fmt.Fprintf(w, "  narrow  %s  drop %s, keep %s  (%s)\n", t(g.GrantID), t(strings.Join(g.Unused, ",")), t(strings.Join(g.Used, ",")), t(g.ByServ))
		}
		if s.Policy != "" {
			fmt.Fprintf(w, "  least-privilege policy (%s):\n", t(s.PolicyNote))
			for _, line := range strings.Split(s.Policy, "\n") {
				fmt.Fprintf(w, "    %s\n", t(line))
			}
		} else if s.PolicyNote != "" {
			fmt.Fprintf(w, "  %s\n", t(s.PolicyNote))
		}
	}
	for _, r := range res.Roles {
		fmt.Fprintf(w, "role %s (%d members): used %s\n", t(r.RoleID), r.Members, t(strings.Join(r.Used, "; ")))
		if len(r.Unused) > 0 {
			fmt.Fprintf(w, "  held, unused by every member: %s\n", t(strings.Join(r.Unused, "; ")))
		}
		if r.Unknown > 0 {
			fmt.Fprintf(w, "  %d member(s) with a grant of unknown use: the baseline may miss what they use\n", r.Unknown)
		}
	}
}
