package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/revoke"
	"github.com/nhiscan/nhiscan/internal/store"
)

func testPlan(scanID int64, fps ...string) revoke.Plan {
	return revoke.Plan{ScanID: scanID, Stage: revoke.StageDisable, CreatedBy: "ops@example.com", CreatedAt: t0.Add(time.Hour),
		Guardrails: revoke.Guardrails{Freshness: 7 * 24 * time.Hour},
		Actions: []revoke.Action{{ID: 1, Op: revoke.OpDisable, Operation: "iam:UpdateAccessKey Status=Inactive", Findings: fps,
			Target: revoke.Target{Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:AIDAONE", CredentialID: "AKIA1", CredentialType: nhi.CredAWSAccessKey},
			Expect: revoke.Expect{ID: "AKIA1", Status: nhi.StatusActive}}}}
}

func TestPlanRoundTripAndAudit(t *testing.T) {
	ctx := context.Background()
	st, path, _ := newStore(t)
	scan := mustBegin(t, st, t0)
	mustFinish(t, st, scan, t0, inventory(), nil)
	p := testPlan(scan)
	id, err := st.CreatePlan(ctx, p)
	if err != nil || id != 1 {
		t.Fatalf("CreatePlan = %d, %v", id, err)
	}
	got, err := st.Plan(ctx, id)
	p.ID = 1
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if _, err := st.Plan(ctx, 9); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Plan(9) = %v", err)
	}
	entries, _ := st.AuditEntries(ctx)
	last := entries[len(entries)-1]
	if last.Action != store.ActionRevokePlan || last.Subject != "revoke-plan:1" || last.Detail["ready"] != "1" || len(last.Detail["plan_sha256"]) != 64 {
		t.Errorf("audit: %+v", last)
	}
	db := rawDB(t, path)
	for _, q := range []string{"UPDATE revoke_plans SET stage = 'delete'", "DELETE FROM revoke_plans"} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func TestJournalDoneOnce(t *testing.T) {
	ctx := context.Background()
	st, path, _ := newStore(t)
	scan := mustBegin(t, st, t0)
	mustFinish(t, st, scan, t0, inventory(), nil)
	p := testPlan(scan)
	p.ID, _ = st.CreatePlan(ctx, p)
	a := &p.Actions[0]
	before := &revoke.State{Exists: true, ID: "AKIA1", Status: nhi.StatusActive}
	after := &revoke.State{Exists: true, ID: "AKIA1", Status: nhi.StatusDisabled}
	row := revoke.Entry{PlanID: p.ID, ActionID: 1, Phase: revoke.PhaseApply, Step: revoke.StepBegin, Op: revoke.OpDisable, Approver: "dana@example.com", Reason: "CHG-9",
		At: t0.Add(2 * time.Hour), Before: before}
	if _, err := st.RecordRevoke(ctx, row, a); err != nil {
		t.Fatal(err)
	}
	row.Step, row.After, row.VerifiedAt, row.Result = revoke.StepDone, after, row.At, &revoke.Result{Changed: true, Before: "Active", After: "Inactive"}
	if e, err := st.RecordRevoke(ctx, row, a); err != nil || e.Seq != 2 {
		t.Fatalf("done: %+v %v", e, err)
	}
	if _, err := st.RecordRevoke(ctx, row, a); !errors.Is(err, revoke.ErrAlreadyDone) {
		t.Errorf("a second done row: %v, want ErrAlreadyDone", err)
	}
	rows, err := st.RevokeJournal(ctx, p.ID)
	if err != nil || len(rows) != 2 || rows[1].After.Status != nhi.StatusDisabled || rows[1].Seq != 2 {
		t.Fatalf("journal: %+v %v", rows, err)
	}
	if all, _ := st.RevokeJournal(ctx, 0); len(all) != 2 {
		t.Errorf("journal of every plan: %d rows", len(all))
	}
	entries, _ := st.AuditEntries(ctx)
	last := entries[len(entries)-1]
	if last.Action != "revoke.apply.done" || last.Actor != "dana@example.com" || last.Subject != "aws:AIDAONE/AKIA1" ||
		last.Detail["before"] != "active" || last.Detail["after"] != "disabled" || last.Detail["reason"] != "CHG-9" || last.Detail["verified_at"] == "" {
		t.Errorf("audit: %+v", last)
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n == 0 {
		t.Errorf("VerifyAudit = %d, %v", n, err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec("DELETE FROM revoke_journal"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("journal delete: %v", err)
	}
}

// TestLockRevoke: one apply or rollback at a time. (A second writing store
// cannot even open while the first is open: the single-writer lock.)
func TestLockRevoke(t *testing.T) {
	st, _, _ := newStore(t)
	unlock, err := st.LockRevoke()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LockRevoke(); !errors.Is(err, store.ErrRevokeRunning) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	u2, err := st.LockRevoke()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u2()
}

// TestLinkRemediations: a finding an applied action was planned to
// remediate, resolved by a later scan, is linked to the action with a
// "remediated" event; a finding resolved before the action, or by no
// scan, is not; linking again adds nothing.
func TestLinkRemediations(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	stale := finding("dormant-credential", nhi.AWS, "111111111111", "AIDAONE", nhi.SevMedium)
	other := finding("dormant-identity", nhi.AWS, "222222222222", "AROATWO", nhi.SevMedium)
	s1 := mustBegin(t, st, t0)
	mustFinish(t, st, s1, t0, inventory(), []nhi.Finding{stale, other})
	p := testPlan(s1, stale.Fingerprint, other.Fingerprint)
	p.ID, _ = st.CreatePlan(ctx, p)
	a := &p.Actions[0]
	at := t0.Add(2 * time.Hour)
	for _, step := range []revoke.Step{revoke.StepBegin, revoke.StepDone} {
		e := revoke.Entry{PlanID: p.ID, ActionID: 1, Phase: revoke.PhaseApply, Step: step, Op: revoke.OpDisable, Approver: "dana@example.com", At: at,
			Result: &revoke.Result{Changed: true}}
		if step == revoke.StepDone {
			e.VerifiedAt = at
		}
		if _, err := st.RecordRevoke(ctx, e, a); err != nil {
			t.Fatal(err)
		}
	}
	// Scan 2 resolves the stale finding; the other stays open.
	s2 := mustBegin(t, st, t0.Add(3*time.Hour))
	mustFinish(t, st, s2, t0.Add(3*time.Hour), inventory(), []nhi.Finding{other})
	links, err := st.LinkRemediations(ctx, t0.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Remediation{{PlanID: 1, ActionID: 1, Fingerprint: stale.Fingerprint, RuleID: "dormant-credential", ScanID: s2, At: t0.Add(3 * time.Hour)}}
	if diff := cmp.Diff(want, links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	if again, err := st.LinkRemediations(ctx, t0.Add(5*time.Hour)); err != nil || len(again) != 0 {
		t.Errorf("second link: %v %v", again, err)
	}
	all, err := st.Remediations(ctx)
	if err != nil || len(all) != 1 {
		t.Errorf("Remediations = %+v %v", all, err)
	}
	evs, err := st.FindingEvents(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Fingerprint == stale.Fingerprint {
			got = append(got, e.Event)
		}
	}
	if strings.Join(got, ",") != "remediated,resolved" && strings.Join(got, ",") != "resolved,remediated" {
		t.Errorf("events of the stale finding in scan 2: %v", got)
	}
}
