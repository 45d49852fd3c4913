// Command nhiscan governs non-human identities: it collects service accounts,
// roles, keys, app registrations, GitHub Apps, deploy keys and tokens from
// AWS, Azure/Entra, GCP and GitHub, compares them with the owned-role
// catalog, and reports orphaned, dormant, over-privileged, long-lived and
// unmapped identities and drift, with evidence auditors accept.
//
// This package is the only one that wires the others together.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
