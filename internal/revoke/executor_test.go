package revoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/revoke"
)

// memJournal is an in-memory journal with the store's done-once rule.
type memJournal struct {
	mu      sync.Mutex
	entries []revoke.Entry
	audits  []string
}

func (j *memJournal) RevokeJournal(_ context.Context, plan int64) ([]revoke.Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []revoke.Entry
	for _, e := range j.entries {
		if e.PlanID == plan {
			out = append(out, e)
		}
	}
	return out, nil
}

func (j *memJournal) RecordRevoke(_ context.Context, e revoke.Entry, a *revoke.Action) (revoke.Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, x := range j.entries {
		if e.Step == revoke.StepDone && x.Step == revoke.StepDone && x.PlanID == e.PlanID && x.ActionID == e.ActionID && x.Phase == e.Phase {
			return e, revoke.ErrAlreadyDone
		}
	}
	e.Seq = int64(len(j.entries) + 1)
	j.entries = append(j.entries, e)
	action, subject, detail := revoke.AuditEntry(e, a)
	j.audits = append(j.audits, fmt.Sprintf("%s %s approver=%s before=%s after=%s", action, subject, detail["approver"], detail["before"], detail["after"]))
	return e, nil
}

func (j *memJournal) steps() []string {
	var out []string
	for _, e := range j.entries {
		out = append(out, fmt.Sprintf("%d %s %s", e.ActionID, e.Phase, e.Step))
	}
	return out
}

// fakeControls holds target states by target key and counts operations.
type fakeControls struct {
	mu      sync.Mutex
	states  map[string]revoke.State
	acts    map[string]int
	failAct string
}

func (c *fakeControls) Inspect(_ context.Context, a *revoke.Action) (revoke.State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.states[a.Target.Key()], nil
}

func (c *fakeControls) Act(_ context.Context, a *revoke.Action, op revoke.Op, restore json.RawMessage) (revoke.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := a.Target.Key()
	c.acts[k+" "+string(op)]++
	if c.failAct == k {
		return revoke.Result{}, errors.New("access denied")
	}
	st := c.states[k]
	before := st.Status
	res := revoke.Result{Changed: true, Before: string(before)}
	switch op {
	case revoke.OpDisable:
		st.Status = nhi.StatusDisabled
	case revoke.OpEnable:
		st.Status = nhi.StatusActive
	case revoke.OpDelete, revoke.OpReduce:
		res.RestoreData = json.RawMessage(`{"key":"public"}`)
		st = revoke.State{}
	case revoke.OpRestore:
		if string(restore) != `{"key":"public"}` {
			return res, errors.New("bad restore data")
		}
		st = revoke.State{Exists: true, ID: a.Expect.ID, Status: nhi.StatusActive}
	}
	res.After = string(st.Status)
	c.states[k] = st
	return res, nil
}

// twoKeys is a ready plan disabling two keys, and the controls holding
// them as the plan saw them.
func twoKeys() (*revoke.Plan, *fakeControls) {
	p := &revoke.Plan{ID: 1, Stage: revoke.StageDisable, CreatedAt: now, Guardrails: revoke.Guardrails{Freshness: 7 * day}}
	c := &fakeControls{states: map[string]revoke.State{}, acts: map[string]int{}}
	for i, k := range []string{"AKIA1", "AKIA2"} {
		a := revoke.Action{ID: i + 1, Op: revoke.OpDisable, Operation: "iam:UpdateAccessKey Status=Inactive",
			Target: revoke.Target{Provider: nhi.AWS, Scope: acct, IdentityID: "aws:AIDA", IdentityName: "ci", CredentialID: k, CredentialType: nhi.CredAWSAccessKey},
			Expect: revoke.Expect{ID: k, Status: nhi.StatusActive, Usage: used(ago(400*day), ago(day))}}
		p.Actions = append(p.Actions, a)
		c.states[a.Target.Key()] = revoke.State{Exists: true, ID: k, Status: nhi.StatusActive, Usage: used(ago(400*day), now)}
	}
	return p, c
}

func executor(j *memJournal, c *fakeControls, execute bool) *revoke.Executor {
	return &revoke.Executor{Journal: j, Controls: func(nhi.Provider) (revoke.Controls, error) { return c, nil },
		Now: func() time.Time { return now }, Approver: "dana@acme.example", Reason: "CHG-1", Execute: execute}
}

func statuses(r revoke.Report) string {
	var out []string
	for _, o := range r.Outcomes {
		out = append(out, fmt.Sprintf("%d:%s", o.ActionID, o.Status))
	}
	return strings.Join(out, " ")
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	p, c := twoKeys()
	j := &memJournal{}
	rep, err := executor(j, c, false).Apply(ctx, p)
	if err != nil || statuses(rep) != "1:would-act 2:would-act" || len(j.entries) != 0 || len(c.acts) != 0 {
		t.Fatalf("dry run: %s, %v; journal %v; acts %v", statuses(rep), err, j.steps(), c.acts)
	}
	rep, err = executor(j, c, true).Apply(ctx, p)
	if err != nil || statuses(rep) != "1:done 2:done" {
		t.Fatalf("apply: %s, %v", statuses(rep), err)
	}
	if got := strings.Join(j.steps(), ", "); got != "1 apply begin, 1 apply done, 2 apply begin, 2 apply done" {
		t.Errorf("journal: %s", got)
	}
	if j.entries[1].VerifiedAt.IsZero() || j.entries[1].After.Status != nhi.StatusDisabled || j.entries[1].Before.Status != nhi.StatusActive {
		t.Errorf("done row: %+v", j.entries[1])
	}
	if !strings.Contains(j.audits[1], "revoke.apply.done aws:AIDA/AKIA1 approver=dana@acme.example before=active after=disabled") {
		t.Errorf("audit: %q", j.audits)
	}
	// Idempotent: a second run acts on nothing.
	rep, err = executor(j, c, true).Apply(ctx, p)
	if err != nil || statuses(rep) != "1:already-done 2:already-done" || c.acts["aws:AIDA|AKIA1| disable"] != 1 {
		t.Errorf("second apply: %s, %v, acts %v", statuses(rep), err, c.acts)
	}
}

// TestApplyRefusesChangedTarget: a key used since the plan is refused, and
// the refusal is journaled and audited; the other key goes ahead.
func TestApplyRefusesChangedTarget(t *testing.T) {
	p, c := twoKeys()
	k := p.Actions[0].Target.Key()
	st := c.states[k]
	st.Usage.LastUsed = ago(day)
	c.states[k] = st
	j := &memJournal{}
	rep, err := executor(j, c, true).Apply(context.Background(), p)
	if err != nil || statuses(rep) != "1:refused 2:done" || !strings.Contains(rep.Outcomes[0].Note, "used at") {
		t.Fatalf("apply: %s %v %+v", statuses(rep), err, rep.Outcomes)
	}
	if c.acts[k+" disable"] != 0 || c.states[k].Status != nhi.StatusActive {
		t.Error("the changed key was acted on")
	}
	if !strings.Contains(j.audits[0], "revoke.apply.refused") {
		t.Errorf("audit: %q", j.audits)
	}
}

// died is what the test's AfterAct panics with: the process "dies" after
// the provider acted and before the journal recorded it.
type died struct{}

// TestResumeAfterCrash: a run killed after the provider acted on the
// first key, before its done row, leaves a begin row; the next run re-reads
// the key, finds it disabled, records it done without acting again, and
// goes on with the second.
func TestResumeAfterCrash(t *testing.T) {
	p, c := twoKeys()
	j := &memJournal{}
	x := executor(j, c, true)
	x.AfterAct = func(*revoke.Action) { panic(died{}) }
	func() {
		defer func() {
			if r := recover(); r != (died{}) {
				t.Fatalf("recovered %v", r)
			}
		}()
		x.Apply(context.Background(), p)
	}()
	if got := strings.Join(j.steps(), ", "); got != "1 apply begin" {
		t.Fatalf("journal after the crash: %s", got)
	}
	rep, err := executor(j, c, true).Apply(context.Background(), p)
	if err != nil || statuses(rep) != "1:done 2:done" {
		t.Fatalf("resume: %s %v", statuses(rep), err)
	}
	if !strings.Contains(rep.Outcomes[0].Note, "interrupted") {
		t.Errorf("note: %q", rep.Outcomes[0].Note)
	}
	for _, k := range []string{"AKIA1", "AKIA2"} {
		if n := c.acts["aws:AIDA|"+k+"| disable"]; n != 1 {
			t.Errorf("%s disabled %d times, want once", k, n)
		}
	}
	if got := strings.Join(j.steps(), ", "); got != "1 apply begin, 1 apply done, 2 apply begin, 2 apply done" {
		t.Errorf("journal: %s", got)
	}
}

// TestResumeBeforeAct: a run that died after its begin row but before the
// provider acted leaves the target as planned; the next run acts once.
func TestResumeBeforeAct(t *testing.T) {
	p, c := twoKeys()
	j := &memJournal{}
	j.RecordRevoke(context.Background(), revoke.Entry{PlanID: 1, ActionID: 1, Phase: revoke.PhaseApply, Step: revoke.StepBegin, Op: revoke.OpDisable, At: now}, &p.Actions[0])
	rep, err := executor(j, c, true).Apply(context.Background(), p)
	if err != nil || statuses(rep) != "1:done 2:done" || c.acts["aws:AIDA|AKIA1| disable"] != 1 {
		t.Fatalf("resume: %s %v %v", statuses(rep), err, c.acts)
	}
	if got := strings.Join(j.steps(), ", "); got != "1 apply begin, 1 apply done, 2 apply begin, 2 apply done" {
		t.Errorf("journal (one begin per action): %s", got)
	}
}

func TestApplyFailureAndExpiry(t *testing.T) {
	p, c := twoKeys()
	c.failAct = p.Actions[0].Target.Key()
	j := &memJournal{}
	rep, err := executor(j, c, true).Apply(context.Background(), p)
	if err != nil || statuses(rep) != "1:failed 2:done" || !strings.Contains(rep.Outcomes[0].Note, "access denied") {
		t.Fatalf("apply: %s %v", statuses(rep), err)
	}
	c.failAct = ""
	rep, err = executor(j, c, true).Apply(context.Background(), p)
	if err != nil || statuses(rep) != "1:done 2:already-done" {
		t.Errorf("retry after a failure: %s %v", statuses(rep), err)
	}
	x := executor(&memJournal{}, c, true)
	x.Now = func() time.Time { return now.Add(8 * day) }
	if _, err := x.Apply(context.Background(), p); !errors.Is(err, revoke.ErrPlanExpired) {
		t.Errorf("an old plan: %v, want ErrPlanExpired", err)
	}
}

// TestRollback: an enable undoes a disable, a restore a restorable delete;
// an irreversible delete is reported and never attempted; a second
// rollback does nothing.
func TestRollback(t *testing.T) {
	ctx := context.Background()
	p, c := twoKeys()
	p.Actions[1].Op, p.Actions[1].Undo = revoke.OpDelete, "POST again"
	irreversible := p.Actions[0]
	irreversible.ID, irreversible.CredentialID, irreversible.Op = 3, "SECRET", revoke.OpDelete
	irreversible.Expect.ID = "SECRET"
	p.Actions = append(p.Actions, irreversible)
	c.states[irreversible.Target.Key()] = revoke.State{Exists: true, ID: "SECRET", Status: nhi.StatusActive, Usage: used(ago(400*day), now)}
	j := &memJournal{}
	if rep, err := executor(j, c, true).Apply(ctx, p); err != nil || statuses(rep) != "1:done 2:done 3:done" {
		t.Fatalf("apply: %s %v", statuses(rep), err)
	}
	// The irreversible delete kept no restore data.
	for i := range j.entries {
		if e := &j.entries[i]; e.ActionID == 3 && e.Result != nil {
			e.Result.RestoreData = nil
		}
	}
	rep, err := executor(j, c, false).Rollback(ctx, p)
	if err != nil || statuses(rep) != "3:irreversible 2:would-act 1:would-act" {
		t.Fatalf("rollback dry run: %s %v", statuses(rep), err)
	}
	rep, err = executor(j, c, true).Rollback(ctx, p)
	if err != nil || statuses(rep) != "3:irreversible 2:done 1:done" {
		t.Fatalf("rollback: %s %v %+v", statuses(rep), err, rep.Outcomes)
	}
	if st := c.states[p.Actions[0].Target.Key()]; st.Status != nhi.StatusActive {
		t.Errorf("key 1 after rollback: %+v", st)
	}
	if st := c.states[p.Actions[1].Target.Key()]; !st.Exists {
		t.Errorf("key 2 not restored: %+v", st)
	}
	if c.acts["aws:AIDA|SECRET| restore"] != 0 {
		t.Error("an irreversible delete was 'restored'")
	}
	rep, err = executor(j, c, true).Rollback(ctx, p)
	if err != nil || statuses(rep) != "3:irreversible 2:already-done 1:already-done" {
		t.Errorf("second rollback: %s %v", statuses(rep), err)
	}
	if !strings.Contains(strings.Join(j.audits, "\n"), "revoke.rollback.done aws:AIDA/AKIA1 approver=dana@acme.example before=disabled after=active") {
		t.Errorf("audit: %q", j.audits)
	}
}

// TestRollbackRefusesChangedTarget: a key deleted since the disable is not
// "enabled".
func TestRollbackRefusesChangedTarget(t *testing.T) {
	ctx := context.Background()
	p, c := twoKeys()
	p.Actions = p.Actions[:1]
	j := &memJournal{}
	if _, err := executor(j, c, true).Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	c.states[p.Actions[0].Target.Key()] = revoke.State{}
	rep, err := executor(j, c, true).Rollback(ctx, p)
	if err != nil || statuses(rep) != "1:refused" || c.acts["aws:AIDA|AKIA1| enable"] != 0 {
		t.Errorf("rollback of a deleted key: %s %v %v", statuses(rep), err, c.acts)
	}
}

type memNotifier struct{ got []revoke.Notice }

func (n *memNotifier) Notify(_ context.Context, x revoke.Notice) error {
	n.got = append(n.got, x)
	return nil
}

func TestNotifyStage(t *testing.T) {
	p, c := twoKeys()
	p.Stage, p.Guardrails.NoticePeriod = revoke.StageNotify, 7*day
	for i := range p.Actions {
		p.Actions[i].Op, p.Actions[i].Owner = revoke.OpNotify, "alice@acme.example"
	}
	p.Actions[1].Owner = "bob@acme.example"
	j, n := &memJournal{}, &memNotifier{}
	x := executor(j, c, true)
	x.Notifier = n
	rep, err := x.Apply(context.Background(), p)
	if err != nil || statuses(rep) != "1:done 2:done" || len(n.got) != 2 || n.got[0].Owner != "alice@acme.example" || !n.got[0].DisableFrom.Equal(now.Add(7*day)) {
		t.Fatalf("notify: %s %v %+v", statuses(rep), err, n.got)
	}
	h := revoke.History([]revoke.Plan{*p}, j.entries)
	if len(h) != 2 || h[0].Op != revoke.OpNotify || !h[0].Verified || !h[0].At.Equal(now) {
		t.Errorf("history: %+v", h)
	}
	if rep, _ := x.Apply(context.Background(), p); statuses(rep) != "1:already-done 2:already-done" || len(n.got) != 2 {
		t.Errorf("second notify: %s, %d notices", statuses(rep), len(n.got))
	}
}

// A reduce removes the grant (the target is then gone), is verified by
// the read-back, and its rollback puts the grant back from the restore
// data the removal returned.
func TestReduceApplyAndRollback(t *testing.T) {
	p := &revoke.Plan{ID: 3, Stage: revoke.StageDisable, CreatedAt: now, Guardrails: revoke.Guardrails{Freshness: 7 * day}}
	a := revoke.Action{ID: 1, Op: revoke.OpReduce, Operation: "iam:DetachRolePolicy or iam:DetachUserPolicy",
		Target: revoke.Target{Provider: nhi.AWS, Scope: acct, IdentityID: "aws:AROA", IdentityName: "deployer",
			GrantID: "managed-policy:arn:aws:iam::aws:policy/AmazonS3FullAccess", GrantKind: "managed-policy", Entitlement: "arn:aws:iam::aws:policy/AmazonS3FullAccess"},
		Expect: revoke.Expect{ID: "managed-policy:arn:aws:iam::aws:policy/AmazonS3FullAccess", Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNotReported}}}
	p.Actions = []revoke.Action{a}
	c := &fakeControls{states: map[string]revoke.State{a.Target.Key(): {Exists: true, ID: a.Expect.ID, Status: nhi.StatusActive,
		Usage: nhi.Usage{State: nhi.UsageNotReported}}}, acts: map[string]int{}}
	j := &memJournal{}
	rep, err := executor(j, c, true).Apply(context.Background(), p)
	if err != nil || rep.Outcomes[0].Status != revoke.OutcomeDone {
		t.Fatalf("apply: %v %+v", err, rep.Outcomes)
	}
	if c.states[a.Target.Key()].Exists {
		t.Fatal("grant still present after the reduce")
	}
	rep, err = executor(j, c, true).Rollback(context.Background(), p)
	if err != nil || len(rep.Outcomes) != 1 || rep.Outcomes[0].Status != revoke.OutcomeDone || rep.Outcomes[0].Op != revoke.OpRestore {
		t.Fatalf("rollback: %v %+v", err, rep.Outcomes)
	}
	if !c.states[a.Target.Key()].Exists {
		t.Error("grant not back after the rollback")
	}
}
