package main

import (
	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/revoke"
)

func (a *app) revokeRollbackCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "rollback --plan ID --approver EMAIL [--reason TEXT] [--execute]",
		Short: "Undo what an applied plan changed, where the provider allows (a dry run unless --execute)",
		Long: `rollback undoes, in reverse order, each action of the plan that changed its
target: it reactivates a key, re-enables a service account or principal,
removes the quarantine policy of an AWS role or user, restores a certificate,
federated credential or deploy key from what the removal kept. An
irreversible delete (an access key, a client secret, a token's access) is
reported and never attempted. Each target is re-read first and must still be
as the apply left it; every step is journaled and audited like the apply.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.revokeRun(cmd.Context(), o, revoke.PhaseRollback) },
	}
	o.flags(cmd)
	return cmd
}
