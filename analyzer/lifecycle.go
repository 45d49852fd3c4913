package analyzer

import (
	"slices"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Lifecycle moves the findings of one scan. It is a pure function of what
// the store last recorded (prior), what this scan produced (current) and
// what this scan observed (cov), and returns one transition per current
// finding and per prior open or suppressed finding this scan did not
// produce, sorted by fingerprint. The store persists exactly what it
// returns.
//
//   - A current finding is new, seen again, reopened (it was resolved),
//     suppressed or unsuppressed (an exception started or stopped applying).
//   - A prior open or suppressed finding this scan did not produce is
//     resolved only when this scan collected its scope and observed every
//     facet it recorded (a finding stored before facets needs the whole
//     scope observed: no gap there at all). Otherwise nothing was learned
//     about it: it keeps its status, marked not re-evaluated, with the
//     facet and the gap that hid it. A gap never looks like remediation.
//   - A prior resolved finding this scan did not produce is left alone.
func Lifecycle(prior []nhi.PriorFinding, current []nhi.Finding, cov *nhi.Coverage) []nhi.Transition {
	return lifecycle(prior, current, cov, nil)
}

// Lifecycle is the lifecycle of this analysis's findings: as the package
// function, and a prior finding the analysis could not evaluate (its rule
// rests on usage that is now unknown) is kept, marked not re-evaluated with
// that reason, even where every facet it recorded was observed.
func (r Result) Lifecycle(prior []nhi.PriorFinding, current []nhi.Finding, cov *nhi.Coverage) []nhi.Transition {
	return lifecycle(prior, current, cov, r.Unevaluated)
}

func lifecycle(prior []nhi.PriorFinding, current []nhi.Finding, cov *nhi.Coverage, unevaluated map[string]nhi.Hidden) []nhi.Transition {
	byFP := make(map[string]*nhi.PriorFinding, len(prior))
	for i := range prior {
		byFP[prior[i].Fingerprint] = &prior[i]
	}
	out := make([]nhi.Transition, 0, len(current)+len(prior))
	produced := make(map[string]bool, len(current))
	for i := range current {
		f := &current[i]
		produced[f.Fingerprint] = true
		out = append(out, seen(byFP[f.Fingerprint], f))
	}
	for i := range prior {
		p := &prior[i]
		if produced[p.Fingerprint] || p.Status == nhi.FindingResolved {
			continue
		}
		if h := Unobserved(cov, p); h != nil {
			out = append(out, nhi.Transition{Fingerprint: p.Fingerprint, Status: p.Status, Events: evNotReevaluated, Hidden: h})
			continue
		}
		if h, ok := unevaluated[p.Fingerprint]; ok {
			out = append(out, nhi.Transition{Fingerprint: p.Fingerprint, Status: p.Status, Events: evNotReevaluated, Hidden: &h})
			continue
		}
		out = append(out, nhi.Transition{Fingerprint: p.Fingerprint, Status: nhi.FindingResolved, Events: evResolved})
	}
	slices.SortFunc(out, func(a, b nhi.Transition) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	return out
}

// Event lists, shared by the transitions (never modified).
var (
	evNew            = []string{nhi.EventNew}
	evNewSuppressed  = []string{nhi.EventNew, nhi.EventSuppressed}
	evReopened       = []string{nhi.EventReopened}
	evReopenedSupp   = []string{nhi.EventReopened, nhi.EventSuppressed}
	evSuppressed     = []string{nhi.EventSuppressed}
	evUnsuppressed   = []string{nhi.EventUnsuppressed}
	evResolved       = []string{nhi.EventResolved}
	evNotReevaluated = []string{nhi.EventNotReevaluated}
)

// seen is the transition of a finding this scan produced; p is its prior
// record, nil when there is none.
func seen(p *nhi.PriorFinding, f *nhi.Finding) nhi.Transition {
	t := nhi.Transition{Fingerprint: f.Fingerprint, Status: nhi.FindingOpen, Finding: f}
	if f.Suppressed {
		t.Status = nhi.FindingSuppressed
	}
	switch {
	case p == nil && f.Suppressed:
		t.Events = evNewSuppressed
	case p == nil:
		t.Events = evNew
	case p.Status == nhi.FindingResolved && f.Suppressed:
		t.Events = evReopenedSupp
	case p.Status == nhi.FindingResolved:
		t.Events = evReopened
	case p.Status == nhi.FindingOpen && f.Suppressed:
		t.Events = evSuppressed
	case p.Status == nhi.FindingSuppressed && !f.Suppressed:
		t.Events = evUnsuppressed
	}
	return t
}

// Unobserved says why a scan cannot re-evaluate a finding recorded with
// the given scope and facets: the first of its facets the scan did not
// observe, with the gap that hid it; for a finding recorded before facets,
// the first facet class of its scope that a gap hides. It returns nil
// when the scan observed everything the finding rests on.
func Unobserved(cov *nhi.Coverage, p *nhi.PriorFinding) *nhi.Hidden {
	if !cov.Collected(p.Provider, p.Scope) {
		return &nhi.Hidden{Why: nhi.WhyNotCollected}
	}
	facets, wholeScope := p.Facets, len(p.Facets) == 0
	if wholeScope {
		facets = nhi.FacetClasses
	}
	for _, f := range facets {
		g, why := cov.Why(p.Provider, p.Scope, f)
		if why == "" || (wholeScope && why == nhi.WhyNotRead) {
			continue // a class the collector never reads held nothing to judge
		}
		h := &nhi.Hidden{Facet: f, Why: why}
		if g != nil {
			h.GapSource, h.GapKind = g.Source, g.Kind
		}
		return h
	}
	return nil
}
