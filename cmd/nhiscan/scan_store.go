package main

import (
	"context"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules"
)

// analyseInto analyses the scan's inventory and stores its findings as
// the analysis hands them on (store.BeginFindings), then finishes the
// scan: a scan never holds all its findings, nor their encodings. t
// counts them for the summary and --fail-on.
func (a *app) analyseInto(ctx context.Context, st *store.Store, id int64, in analyzer.Input, t *findingTally) (analyzer.Result, error) {
	fw, err := st.BeginFindings(ctx, id, &in.Inventory, analyzer.Lifecycle)
	if err != nil {
		return analyzer.Result{}, err
	}
	defer fw.Abort()
	var addErr error
	in.Findings = func(fs []nhi.Finding) {
		if addErr == nil {
			addErr = fw.Add(fs)
		}
		t.add(fs)
	}
	res := analyzer.Analyze(in)
	if addErr != nil {
		return res, addErr
	}
	err = st.FinishScan(ctx, id, store.FinishInput{Ended: a.now().UTC(), Inventory: in.Inventory, Written: fw,
		Ownership: res.Ownership, EvaluatedAt: in.Now, Lifecycle: res.Lifecycle})
	return res, err
}

// findingTally counts a scan's findings as they go to the store.
type findingTally struct {
	total, suppressed int
	// drift counts the drift findings against the previous scan (drift
	// since the certification is judged against the certified state).
	drift int
	// open counts the unsuppressed findings by family, severity and owner.
	family, severity, owner map[string]int
}

func (t *findingTally) add(fs []nhi.Finding) {
	if t.family == nil {
		t.family, t.severity, t.owner = map[string]int{}, map[string]int{}, map[string]int{}
	}
	for i := range fs {
		f := &fs[i]
		t.total++
		if f.Family == nhi.FamilyDrift && f.RuleID != rules.RuleDriftSinceCert {
			t.drift++
		}
		if f.Suppressed {
			t.suppressed++
			continue
		}
		t.family[f.Family]++
		t.severity[string(f.Severity)]++
		o := f.Owner
		if o == "" {
			o = "(no owner)"
		}
		t.owner[o]++
	}
}

// atLeast counts the unsuppressed findings at or above severity s.
func (t *findingTally) atLeast(s nhi.Severity) int {
	n := 0
	for sev, c := range t.severity {
		if nhi.Severity(sev).Rank() >= s.Rank() {
			n += c
		}
	}
	return n
}
