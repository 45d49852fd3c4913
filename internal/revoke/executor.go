package revoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Journal is the store of journal rows the Executor needs.
type Journal interface {
	// RevokeJournal returns every journal row of a plan in sequence
	// order (of every plan when planID is 0).
	RevokeJournal(ctx context.Context, planID int64) ([]Entry, error)
	// RecordRevoke appends a journal row, and its audit log entry (AuditEntry),
	// in one transaction, and returns it with its sequence number. A
	// second done row for one action and phase fails with ErrAlreadyDone.
	RecordRevoke(ctx context.Context, e Entry, a *Action) (Entry, error)
}

// Controls acts on the targets of one provider.
type Controls interface {
	// Inspect re-reads the target (read-only). A target that is gone is
	// State.Exists false with a nil error.
	Inspect(ctx context.Context, a *Action) (State, error)
	// Act performs op on the target (restore is the RestoreData of the
	// delete a restore undoes) and says what it did.
	Act(ctx context.Context, a *Action, op Op, restore json.RawMessage) (Result, error)
}

// Notice is what the notify stage tells one owner.
type Notice struct {
	PlanID int64
	Owner  string
	// Actions are the owner's ready actions of the plan.
	Actions []Action
	// DisableFrom is the earliest time a disable may follow the notice.
	DisableFrom time.Time
}

// Notifier delivers the notify stage's notices.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Executor applies and rolls back plans through the journal, the
// provider controls and the notifier.
type Executor struct {
	Journal Journal
	// Controls returns the controls of a provider, or an error when the
	// provider is not configured for revocation.
	Controls func(nhi.Provider) (Controls, error)
	Notifier Notifier
	Now      func() time.Time
	// Approver and Reason go into every journal row and audit entry.
	Approver, Reason string
	// Execute acts; without it a run only re-reads and reports what it
	// would do (a dry run), writing nothing.
	Execute bool
	// AfterAct, when set, is called after each provider operation and
	// before its result is journaled (tests stop the process there).
	AfterAct func(a *Action)
}

// Outcome is what a run did with one action.
type Outcome struct {
	ActionID int
	Label    string
	Op       Op
	// Status: done, already-done, would-act, refused, failed, unverified,
	// blocked, skipped, irreversible.
	Status string
	Note   string
	Before *State
	After  *State
	// Changed is set when the provider changed the target in this run.
	Changed bool
}

// Outcome statuses.
const (
	OutcomeDone         = "done"
	OutcomeAlreadyDone  = "already-done"
	OutcomeWouldAct     = "would-act"
	OutcomeRefused      = "refused"
	OutcomeFailed       = "failed"
	OutcomeUnverified   = "unverified"
	OutcomeBlocked      = "blocked"
	OutcomeSkipped      = "skipped"
	OutcomeIrreversible = "irreversible"
)

// Report is a run's outcomes, in the order the actions were taken.
type Report struct {
	PlanID   int64
	Phase    Phase
	Execute  bool
	Outcomes []Outcome
}

// Count counts the outcomes of one status.
func (r *Report) Count(status string) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == status {
			n++
		}
	}
	return n
}

func (x *Executor) now() time.Time { return x.Now().UTC() }

// Apply applies a plan's ready actions in order. Each action's target is
// re-read first (Check): a target changed since the plan is refused, one
// already in the wanted state is done without acting. Otherwise a begin
// row is journaled, the provider acts, the target is read back (Verify),
// and a done row records before, after and the result. An action the
// journal shows done is never acted on again; one left at begin by a run
// that died is re-read, and done without acting when the earlier run's
// action took effect. A plan older than the freshness threshold is not
// applied (ErrPlanExpired). The error is for the journal only: a
// provider's failure is the action's outcome, and the run goes on.
func (x *Executor) Apply(ctx context.Context, p *Plan) (Report, error) {
	rep := Report{PlanID: p.ID, Phase: PhaseApply, Execute: x.Execute}
	if f := p.Guardrails.Freshness; f > 0 && x.now().Sub(p.CreatedAt) > f {
		return rep, fmt.Errorf("plan %d was built %s, more than %s ago: build a new plan: %w",
			p.ID, p.CreatedAt.UTC().Format(time.RFC3339), duration.Format(f), ErrPlanExpired)
	}
	entries, err := x.Journal.RevokeJournal(ctx, p.ID)
	if err != nil {
		return rep, err
	}
	latest := Latest(entries, PhaseApply)
	if p.Stage == StageNotify {
		return x.notices(ctx, p, latest, rep)
	}
	for i := range p.Actions {
		a := &p.Actions[i]
		o, skip := x.settled(a, latest)
		if !skip {
			o, err = x.applyOne(ctx, p, a, latest[a.ID])
			if err != nil {
				return rep, err
			}
		}
		rep.Outcomes = append(rep.Outcomes, o)
	}
	return rep, nil
}

// settled is the outcome of an action this run does not take: blocked,
// skipped, or done by an earlier run.
func (x *Executor) settled(a *Action, latest map[int]Entry) (Outcome, bool) {
	o := Outcome{ActionID: a.ID, Label: a.Label(), Op: a.Op}
	switch {
	case a.Skip != "":
		o.Status, o.Note = OutcomeSkipped, a.Skip
	case len(a.Blocked) > 0:
		o.Status, o.Note = OutcomeBlocked, blockText(a.Blocked)
	case latest[a.ID].Step == StepDone:
		e := latest[a.ID]
		o.Status, o.Note, o.Before, o.After = OutcomeAlreadyDone, "done at "+e.At.UTC().Format(time.RFC3339)+" by "+e.Approver, e.Before, e.After
	default:
		return o, false
	}
	return o, true
}

func blockText(bs []Block) string {
	s := ""
	for i, b := range bs {
		if i > 0 {
			s += "; "
		}
		s += b.Guard + ": " + b.Why
	}
	return s
}

// applyOne takes one ready action: re-read, check, act, read back,
// journal. prev is the action's latest apply row (zero when none).
func (x *Executor) applyOne(ctx context.Context, p *Plan, a *Action, prev Entry) (Outcome, error) {
	return x.take(ctx, p, a, a.Op, nil, PhaseApply, prev.Step == StepBegin)
}

// take runs one operation on one target in one phase. interrupted says
// the phase's latest row is a begin: an earlier run died after it.
func (x *Executor) take(ctx context.Context, p *Plan, a *Action, op Op, restore json.RawMessage, phase Phase, interrupted bool) (Outcome, error) {
	o := Outcome{ActionID: a.ID, Label: a.Label(), Op: op}
	row := Entry{PlanID: p.ID, ActionID: a.ID, Phase: phase, Op: op, Approver: x.Approver, Reason: x.Reason}
	fail := func(step Step, status, note string) (Outcome, error) {
		o.Status, o.Note = status, note
		if !x.Execute {
			return o, nil
		}
		row.Step, row.Note, row.At = step, note, x.now()
		_, err := x.record(ctx, row, a)
		return o, err
	}
	ctl, err := x.Controls(a.Provider)
	if err != nil {
		return fail(StepFailed, OutcomeFailed, err.Error())
	}
	before, err := ctl.Inspect(ctx, a)
	if err != nil {
		return fail(StepFailed, OutcomeFailed, "re-read before acting: "+err.Error())
	}
	o.Before, row.Before = &before, &before
	v := Check(a, before)
	note := v.Note
	if interrupted {
		note = join("an earlier run was interrupted after it began this action; re-read now", note)
	}
	switch {
	case v.Refuse != "":
		return fail(StepRefused, OutcomeRefused, "changed since the plan: "+v.Refuse)
	case !x.Execute && v.Done:
		o.Status, o.Note = OutcomeAlreadyDone, note
		return o, nil
	case !x.Execute:
		o.Status, o.Note = OutcomeWouldAct, note
		return o, nil
	case v.Done:
		o.After = &before
		row.Step, row.After, row.Result, row.At, row.VerifiedAt, row.Note = StepDone, &before, &Result{}, x.now(), x.now(), note
		_, err := x.record(ctx, row, a)
		o.Status, o.Note = OutcomeDone, note
		return o, err
	}
	if !interrupted {
		row.Step, row.At = StepBegin, x.now()
		if _, err := x.record(ctx, row, a); err != nil {
			return o, err
		}
	}
	res, err := ctl.Act(ctx, a, op, restore)
	if x.AfterAct != nil {
		x.AfterAct(a)
	}
	if err != nil {
		return fail(StepFailed, OutcomeFailed, join(note, string(op)+": "+err.Error()))
	}
	o.Changed, row.Result = res.Changed, &res
	after, err := ctl.Inspect(ctx, a)
	if err != nil {
		return fail(StepUnverified, OutcomeUnverified, join(note, "read-back: "+err.Error()))
	}
	o.After, row.After = &after, &after
	ok, why := Verify(op, after, res)
	if !ok {
		return fail(StepUnverified, OutcomeUnverified, join(note, why))
	}
	row.Step, row.At, row.Note = StepDone, x.now(), join(note, why)
	row.VerifiedAt = row.At
	o.Status, o.Note = OutcomeDone, row.Note
	_, err = x.record(ctx, row, a)
	return o, err
}

// record journals a row; a done row another run wrote first is not an
// error of this run.
func (x *Executor) record(ctx context.Context, e Entry, a *Action) (Entry, error) {
	out, err := x.Journal.RecordRevoke(ctx, e, a)
	if errors.Is(err, ErrAlreadyDone) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("journal plan %d action %d: %w", e.PlanID, e.ActionID, err)
	}
	return out, nil
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// notices applies a notify plan: one notice per owner listing their ready
// actions not yet notified, each action journaled begin and done around
// the delivery.
func (x *Executor) notices(ctx context.Context, p *Plan, latest map[int]Entry, rep Report) (Report, error) {
	byOwner := map[string][]*Action{}
	var owners []string
	for i := range p.Actions {
		a := &p.Actions[i]
		if o, skip := x.settled(a, latest); skip {
			rep.Outcomes = append(rep.Outcomes, o)
			continue
		}
		if byOwner[a.Owner] == nil {
			owners = append(owners, a.Owner)
		}
		byOwner[a.Owner] = append(byOwner[a.Owner], a)
	}
	slices.Sort(owners)
	for _, owner := range owners {
		acts := byOwner[owner]
		n := Notice{PlanID: p.ID, Owner: owner, DisableFrom: x.now().Add(p.Guardrails.NoticePeriod)}
		for _, a := range acts {
			n.Actions = append(n.Actions, *a)
		}
		outs, err := x.notify(ctx, p, n, acts, latest)
		if err != nil {
			return rep, err
		}
		rep.Outcomes = append(rep.Outcomes, outs...)
	}
	slices.SortFunc(rep.Outcomes, func(a, b Outcome) int { return a.ActionID - b.ActionID })
	return rep, nil
}

func (x *Executor) notify(ctx context.Context, p *Plan, n Notice, acts []*Action, latest map[int]Entry) ([]Outcome, error) {
	var outs []Outcome
	status, note := OutcomeWouldAct, "would notify "+n.Owner
	if x.Execute {
		for _, a := range acts {
			if latest[a.ID].Step == StepBegin {
				continue
			}
			if _, err := x.record(ctx, Entry{PlanID: p.ID, ActionID: a.ID, Phase: PhaseApply, Step: StepBegin, Op: OpNotify,
				Approver: x.Approver, Reason: x.Reason, At: x.now()}, a); err != nil {
				return nil, err
			}
		}
		status, note = OutcomeDone, "notified "+n.Owner+" (disable from "+n.DisableFrom.UTC().Format(time.RFC3339)+")"
		step := StepDone
		if err := x.Notifier.Notify(ctx, n); err != nil {
			status, note, step = OutcomeFailed, "notice to "+n.Owner+": "+err.Error(), StepFailed
		}
		for _, a := range acts {
			row := Entry{PlanID: p.ID, ActionID: a.ID, Phase: PhaseApply, Step: step, Op: OpNotify, Approver: x.Approver, Reason: x.Reason,
				At: x.now(), Note: note, Result: &Result{Changed: step == StepDone, After: "notified " + n.Owner}}
			if step == StepDone {
				row.VerifiedAt = row.At
			}
			if _, err := x.record(ctx, row, a); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range acts {
		outs = append(outs, Outcome{ActionID: a.ID, Label: a.Label(), Op: OpNotify, Status: status, Note: note, Changed: status == OutcomeDone})
	}
	return outs, nil
}

// Rollback undoes, in reverse order, every action of the plan whose apply
// changed its target: an enable after a disable, a restore after a
// restorable delete. An irreversible delete is reported, never attempted.
// Each target is re-read first and must still be in the state the apply
// left it in (Check, against the apply's read-back); the rollback is
// journaled and audited like the apply.
func (x *Executor) Rollback(ctx context.Context, p *Plan) (Report, error) {
	rep := Report{PlanID: p.ID, Phase: PhaseRollback, Execute: x.Execute}
	entries, err := x.Journal.RevokeJournal(ctx, p.ID)
	if err != nil {
		return rep, err
	}
	applied, rolled := Latest(entries, PhaseApply), Latest(entries, PhaseRollback)
	for i := len(p.Actions) - 1; i >= 0; i-- {
		a := &p.Actions[i]
		e, ok := applied[a.ID]
		if !ok || e.Step != StepDone || e.Result == nil || !e.Result.Changed || a.Op == OpNotify {
			continue
		}
		o := Outcome{ActionID: a.ID, Label: a.Label()}
		undo, restore := undoOf(a, e)
		switch {
		case rolled[a.ID].Step == StepDone:
			r := rolled[a.ID]
			o.Op, o.Status, o.Note = undo, OutcomeAlreadyDone, "rolled back at "+r.At.UTC().Format(time.RFC3339)+" by "+r.Approver
		case undo == "":
			o.Op, o.Status, o.Note = a.Op, OutcomeIrreversible, string(a.Op)+" cannot be undone ("+a.Operation+")"
		default:
			ra := *a
			ra.Op = undo
			if e.After != nil {
				ra.Expect = Expect{ID: a.Expect.ID, Status: e.After.Status, Created: e.After.Created, Usage: e.After.Usage}
			}
			o, err = x.take(ctx, p, &ra, undo, restore, PhaseRollback, rolled[a.ID].Step == StepBegin)
			if err != nil {
				return rep, err
			}
		}
		rep.Outcomes = append(rep.Outcomes, o)
	}
	return rep, nil
}

// undoOf is the operation that undoes an applied action, with the restore
// data a restore needs; "" when the action cannot be undone.
func undoOf(a *Action, e Entry) (Op, json.RawMessage) {
	switch {
	case a.Op == OpDisable:
		return OpEnable, nil
	case (a.Op == OpDelete || a.Op == OpReduce) && e.Result != nil && len(e.Result.RestoreData) > 0:
		return OpRestore, e.Result.RestoreData
	}
	return "", nil
}

// AuditEntry is the audit log entry of a journal row: the action as
// revoke.<phase>.<step>, the target as subject, and the plan, action,
// operation, approver, reason, before and after state, whether the
// provider changed it, when it was verified and the note. The store writes
// it in the row's transaction.
func AuditEntry(e Entry, a *Action) (action, subject string, detail map[string]string) {
	subject = a.IdentityID
	if a.CredentialID != "" {
		subject += "/" + a.CredentialID
	}
	if a.GrantID != "" {
		subject += "#" + a.GrantID
	}
	detail = map[string]string{
		"plan": strconv.FormatInt(e.PlanID, 10), "action": strconv.Itoa(e.ActionID), "op": string(e.Op),
		"operation": a.Operation, "approver": e.Approver, "provider": string(a.Provider), "scope": a.Scope,
	}
	set := func(k, v string) {
		if v != "" {
			detail[k] = v
		}
	}
	set("reason", e.Reason)
	set("note", e.Note)
	if e.Before != nil {
		set("before", stateText(*e.Before))
	}
	if e.After != nil {
		set("after", stateText(*e.After))
	}
	if e.Result != nil {
		detail["changed"] = strconv.FormatBool(e.Result.Changed)
		set("provider_before", e.Result.Before)
		set("provider_after", e.Result.After)
		set("detail", e.Result.Detail)
	}
	if !e.VerifiedAt.IsZero() {
		detail["verified_at"] = e.VerifiedAt.UTC().Format(time.RFC3339)
	}
	return "revoke." + string(e.Phase) + "." + string(e.Step), subject, detail
}
