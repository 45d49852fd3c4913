package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/rules"
)

func (a *app) catalogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Work with the owned-role catalog"}
	cmd.AddCommand(a.catalogSuggestCmd(), a.catalogCoverageCmd())
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check catalog files: every problem with file:line:col, exit 2 on any",
		RunE: func(cmd *cobra.Command, args []string) error {
			_, cat, at, err := a.configAndCatalog(args)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "catalog ok: %d people, %d roles, %d exceptions from %d file(s); sha256 %s\n",
				len(cat.People), len(cat.Roles), len(cat.Exceptions), len(cat.Files), cat.Hash)
			for _, e := range cat.Exceptions {
				if !e.Expires.After(at) {
					fmt.Fprintf(a.stdout, "  note: exception %s (%s) expired %s and no longer suppresses\n", e.ID, e.Rule, fmtTime(e.Expires))
				}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rules",
		Short: "List the built-in rules with their family, severity and controls",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, r := range rules.Builtin() {
				fmt.Fprintf(a.stdout, "%-32s %-16s %-8s %s\n    controls: %s\n", r.ID, r.Family, r.Severity, r.Title, strings.Join(r.Controls, ", "))
			}
			return nil
		},
	})
	return cmd
}
