package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

// progress shows per-provider collection progress on a terminal; quiet
// otherwise (the log carries the same facts at info level).
type progress struct {
	a  *app
	mu sync.Mutex
}

func (a *app) newProgress() *progress { return &progress{a: a} }

// scope is the collectors' Progress hook: one line per finished account,
// subscription, project or organisation.
func (p *progress) scope(d collectors.ScopeDone) {
	p.a.log.Info("scope collected", "provider", d.Provider, "scope", d.Scope, "phase", d.Phase,
		"identities", d.Identities, "gaps", d.Gaps, "done", d.Done, "total", d.Total)
	if !p.a.isTerminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	what := d.Phase
	if d.Identities >= 0 {
		what = fmt.Sprintf("%d identities", d.Identities)
		if d.Phase != "" {
			what += " (" + d.Phase + ")"
		}
	}
	if d.Gaps > 0 {
		what += fmt.Sprintf(", %d gap(s)", d.Gaps)
	}
	count := ""
	if d.Total > 0 {
		count = fmt.Sprintf("[%d/%d]", d.Done, d.Total)
	}
	fmt.Fprintf(p.a.stderr, "  %-7s %-9s %-40s %s\n", d.Provider, count, reports.TermText(d.Scope), reports.TermText(what))
}

func (p *progress) start(pv nhi.Provider) {
	p.a.log.Info("collecting", "provider", pv)
	if p.a.isTerminal {
		p.mu.Lock()
		fmt.Fprintf(p.a.stderr, "  %-7s collecting…\n", pv)
		p.mu.Unlock()
	}
}

func (p *progress) done(pv nhi.Provider, inv nhi.Inventory, err error, took time.Duration) {
	if err != nil {
		p.a.log.Warn("collection failed", "provider", pv, "err", err)
	} else {
		p.a.log.Info("collected", "provider", pv, "identities", len(inv.Identities), "scopes", len(inv.Scopes), "gaps", len(inv.Gaps), "took", took.Round(time.Millisecond))
	}
	if !p.a.isTerminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		fmt.Fprintf(p.a.stderr, "  %-7s failed after %s: %s\n", pv, took.Round(time.Millisecond), reports.TermText(err.Error()))
		return
	}
	fmt.Fprintf(p.a.stderr, "  %-7s %d identities in %d scopes, %d gap(s) (%s)\n", pv, len(inv.Identities), len(inv.Scopes), len(inv.Gaps), took.Round(time.Millisecond))
}
