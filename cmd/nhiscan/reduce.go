package main

import "github.com/spf13/cobra"

func (a *app) reduceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "reduce", Short: "Least privilege from observed use: what each identity and role could lose"}
	cmd.AddCommand(a.reduceSuggestCmd())
	return cmd
}
