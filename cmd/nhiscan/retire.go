package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// retireCmd resolves the findings of a scope that is no longer collected. A
// scan never resolves findings of a scope it did not collect (absence of
// data is not remediation), so a closed account's findings stay open until
// someone says, with attribution, that the scope is gone.
func (a *app) retireCmd() *cobra.Command {
	var provider, scope, by, reason string
	cmd := &cobra.Command{
		Use:   "retire",
		Short: "Resolve the findings of a scope that is no longer collected (a closed account, a deleted project)",
		Long: `retire resolves every open or suppressed finding of one provider scope — an
AWS account, an Azure subscription or tenant, a GCP project, a GitHub
organisation — that scans no longer collect, and records who did it and why in
the audit log. A scope the latest scan still collected is refused: its
findings follow the scans.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !nhi.Provider(provider).Valid() {
				return usagef("--provider %q: want aws, azure, gcp or github", provider)
			}
			if scope == "" || strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
				return usagef("--scope, --by and --reason are required (the retirement is logged with attribution)")
			}
			return a.writeStore(cmd.Context(), func(_ config.Config, st *store.Store) error {
				n, err := st.RetireScope(cmd.Context(), nhi.Provider(provider), scope, a.now().UTC(), by, reason)
				if errors.Is(err, store.ErrScopeCollected) {
					return usageError{err}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "retired %d finding(s) of %s %s\n", n, provider, scope)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "aws, azure, gcp or github")
	f.StringVar(&scope, "scope", "", "the account, subscription, tenant, project or organisation id")
	f.StringVar(&by, "by", "", "who retires it (recorded in the audit log)")
	f.StringVar(&reason, "reason", "", "why, e.g. the ticket that closed the account")
	return cmd
}
