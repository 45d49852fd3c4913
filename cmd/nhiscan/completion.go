package main

import (
	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// completeValues registers shell completion of fixed flag values.
func completeValues(cmd *cobra.Command, flag string, values func() []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values(), cobra.ShellCompDirectiveNoFileComp
	})
}

func formatValues() []string { return []string{"table", "json", "csv", "ocsf"} }

func severityValues() []string {
	out := make([]string, len(nhi.Severities))
	for i, s := range nhi.Severities {
		out[i] = string(s)
	}
	return out
}

func familyValues() []string { return append([]string(nil), nhi.Families...) }

func providerValues() []string { return []string{"aws", "azure", "gcp", "github"} }

func statusValues() []string { return []string{"open", "resolved", "suppressed", "all"} }

func ruleValues() []string {
	var out []string
	for _, r := range rules.Builtin() {
		out = append(out, r.ID)
	}
	return out
}
