package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

type collectFunc func(ctx context.Context) (nhi.Inventory, error)

// collectAll runs every collector concurrently. A collector that fails
// outright becomes a provider-wide gap, so its provider counts as partial
// (nothing reported removed); the scan fails only when every one fails.
// The progress display logs each failure, once.
func (a *app) collectAll(cs []collectors.Collector) collectFunc {
	return func(ctx context.Context) (nhi.Inventory, error) {
		invs := make([]nhi.Inventory, len(cs))
		errs := make([]error, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() {
				start := a.now()
				a.prog.start(c.Provider())
				invs[i], errs[i] = c.Collect(ctx)
				a.prog.done(c.Provider(), invs[i], errs[i], a.now().Sub(start))
			})
		}
		wg.Wait()
		// An interrupted collection (Ctrl-C, SIGTERM) fails the scan with
		// that reason: collectors turn a cancelled call into a gap, which
		// must not be stored as a partial scan.
		if err := ctx.Err(); err != nil {
			return nhi.Inventory{}, fmt.Errorf("collection interrupted: %w", err)
		}
		var ok []nhi.Inventory
		var failed []string
		for i, c := range cs {
			if errs[i] != nil {
				failed = append(failed, providerError(c.Provider(), errs[i]))
				ok = append(ok, nhi.Inventory{Version: nhi.SchemaVersion, Gaps: []nhi.Gap{{
					Provider: c.Provider(), Source: "collect", Kind: collectors.GapKind(errs[i]), Detail: collectors.Detail(errs[i]),
				}}})
				continue
			}
			ok = append(ok, invs[i])
		}
		if len(failed) == len(cs) {
			return nhi.Inventory{}, fmt.Errorf("every collector failed: %s", strings.Join(failed, "; "))
		}
		inv := nhi.Merge(ok...)
		if inv.CollectedAt.IsZero() {
			inv.CollectedAt = a.now().UTC()
		}
		return inv, nil
	}
}

// providerError is a collector's error named by its provider, once:
// collectors may already start their messages with it ("aws: …").
func providerError(p nhi.Provider, err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, string(p)+":") || strings.HasPrefix(msg, string(p)+" ") {
		return msg
	}
	return string(p) + ": " + msg
}
