package main

import "github.com/spf13/cobra"

func (a *app) demoCmd() *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "Run the whole pipeline on the built-in demo organisation"}
}
