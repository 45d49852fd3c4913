package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// TestRevokeAcrossProviders applies the dormant policy's disable plan to
// the demo organisation through every provider's controls (AWS keys set
// inactive, GCP keys disabled, GitHub deploy keys removed with their
// public keys kept), then rolls it back: keys active again, deploy keys
// re-added under new ids. Every action is re-read before and after.
func TestRevokeAcrossProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo organisation")
	}
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	a := &app{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return now }, getenv: func(string) string { return "" },
		log: slog.New(slog.DiscardHandler)}
	a.prog = a.newProgress()
	if err := copyFS(demoFS, "demo", filepath.Join(dir, "catalog"), strings.NewReplacer("DEMO_IN_60_DAYS", now.AddDate(0, 0, 60).Format(time.DateOnly),
		"DEMO_1_DAY_AGO", now.AddDate(0, 0, -1).Format(time.DateOnly))); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(now, filepath.Join(dir, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	org, err := a.startDemoOrg(now, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer org.Close()
	st, err := store.Open(ctx, filepath.Join(dir, "nhiscan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := a.scanOnce(ctx, st, cat, now, "test", a.collectAll(org.collectors)); err != nil {
		t.Fatal(err)
	}
	zero := time.Duration(0)
	rc := config.Revoke{NoticePeriod: &zero, MaxPerRun: 100, MaxPerScope: 100, Dormant: config.RevokePolicy{On: true, After: cat.Defaults.DormantAfter}}
	p, err := a.buildPlan(ctx, st, cat, rc, org.controls, revoke.StageDisable, planOptions{actor: "test", source: "policies"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID, err = st.CreatePlan(ctx, p); err != nil {
		t.Fatal(err)
	}
	ready := map[nhi.Provider]int{}
	for _, x := range p.Actions {
		if x.Ready() {
			ready[x.Provider]++
		}
	}
	if ready[nhi.AWS] == 0 || ready[nhi.GitHub] == 0 {
		t.Fatalf("ready actions by provider: %v", ready)
	}
	keysBefore := len(org.github.DeployKeys(githubfake.DemoOrg, "data-pipelines")) + len(org.github.DeployKeys(githubfake.DemoOrg, "platform-infra"))
	run := func(phase revoke.Phase) revoke.Report {
		t.Helper()
		inv, _, err := st.Snapshot(ctx, p.ScanID)
		if err != nil {
			t.Fatal(err)
		}
		x := &revoke.Executor{Journal: st, Controls: controlsFor(org.controls, &inv), Now: a.now, Approver: "dana@acme.example", Execute: true}
		var rep revoke.Report
		if phase == revoke.PhaseRollback {
			rep, err = x.Rollback(ctx, &p)
		} else {
			rep, err = x.Apply(ctx, &p)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range rep.Outcomes {
			if o.Status != revoke.OutcomeDone && o.Status != revoke.OutcomeBlocked && o.Status != revoke.OutcomeSkipped {
				t.Errorf("%s #%d %s %s: %s: %s", phase, o.ActionID, o.Op, o.Label, o.Status, o.Note)
			}
		}
		return rep
	}
	if rep := run(revoke.PhaseApply); rep.Count(revoke.OutcomeDone) != p.Count().Ready {
		t.Errorf("applied %d of %d", rep.Count(revoke.OutcomeDone), p.Count().Ready)
	}
	after := len(org.github.DeployKeys(githubfake.DemoOrg, "data-pipelines")) + len(org.github.DeployKeys(githubfake.DemoOrg, "platform-infra"))
	if after >= keysBefore {
		t.Errorf("deploy keys %d -> %d: none removed", keysBefore, after)
	}
	rep := run(revoke.PhaseRollback)
	if rep.Count(revoke.OutcomeDone) != p.Count().Ready {
		t.Errorf("rolled back %d of %d", rep.Count(revoke.OutcomeDone), p.Count().Ready)
	}
	ops := map[revoke.Op]int{}
	for _, o := range rep.Outcomes {
		ops[o.Op]++
	}
	if ops[revoke.OpEnable] == 0 || ops[revoke.OpRestore] == 0 {
		t.Errorf("rollback operations: %v, want enables and restores", ops)
	}
	restored := len(org.github.DeployKeys(githubfake.DemoOrg, "data-pipelines")) + len(org.github.DeployKeys(githubfake.DemoOrg, "platform-infra"))
	if restored != keysBefore {
		t.Errorf("deploy keys after rollback: %d, want %d", restored, keysBefore)
	}
}
