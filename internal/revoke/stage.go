package revoke

import (
	"fmt"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// stage picks the action's operation for the plan's stage and applies the
// stage guardrail: a disable waits for the owner's notice, a delete for a
// disable at least a grace period old.
func (b *builder) stage(a *Action, id *nhi.Identity) {
	if a.Want == WantReduce {
		b.reduceStage(a)
		return
	}
	_, _, canContain := containOp(&a.Target)
	_, canRemove := removeOp(&a.Target)
	if !canContain && !canRemove {
		a.Op = OpDisable
		a.Blocked = append(a.Blocked, Block{Guard: GuardUnsupported, Why: unsupportedWhy(&a.Target)})
		return
	}
	switch b.in.Stage {
	case StageNotify:
		b.notifyStage(a)
	case StageDisable:
		b.disableStage(a)
	case StageDelete:
		b.deleteStage(a, id)
	}
}

// reduceStage stages the removal of one grant: its owner is notified at
// the notify stage, the grant is removed (reversibly: put back by a
// rollback) at the disable stage once the notice period is over, and the
// delete stage has nothing more to do.
func (b *builder) reduceStage(a *Action) {
	a.Op, a.Operation = OpReduce, "remove grant "+a.GrantID
	o, why := reduceOp(&a.Target)
	if why != "" {
		a.Blocked = append(a.Blocked, Block{Guard: GuardUnsupported, Why: why})
		return
	}
	period := b.in.Guardrails.NoticePeriod
	switch b.in.Stage {
	case StageNotify:
		b.notifyStage(a)
		if a.Then != "" {
			a.Then = fmt.Sprintf("removed (reversible: %s) %s after this notice: %s", o.undo, duration.Format(period), o.call)
		}
	case StageDisable:
		a.Operation, a.Undo = o.call, o.undo
		b.needNotice(a, period, "remove the grant")
	case StageDelete:
		a.Skip = "a grant is removed at the disable stage, reversibly: the delete stage has nothing to do"
	}
}

func unsupportedWhy(t *Target) string {
	if t.IdentityKind == nhi.KindEntraManagedIdentity {
		return "a managed identity cannot be disabled in Entra: remove its role assignments instead (issue 18)"
	}
	return fmt.Sprintf("nhiscan has no operation on %s: act by hand", class(t))
}

// contained reports whether the scan shows the target disabled already.
func (a *Action) contained() bool {
	return a.Expect.Status == nhi.StatusDisabled || a.Expect.Status == nhi.StatusSuspended
}

func (b *builder) notifyStage(a *Action) {
	a.Op = OpNotify
	a.Operation = "notice to the owner"
	if n, ok := b.last(a, OpNotify); ok {
		a.Skip = fmt.Sprintf("owner notified %s (plan %d action %d)", n.At.UTC().Format(time.RFC3339), n.PlanID, n.ActionID)
		return
	}
	if a.contained() && a.Want == WantDisable {
		a.Skip = "already " + string(a.Expect.Status) + " in scan " + fmt.Sprint(b.in.ScanID)
		return
	}
	a.Then = b.announce(a)
	if a.Owner == "" {
		a.Blocked = append(a.Blocked, Block{Guard: GuardStage, Why: "no owner to notify: give the identity an owner (catalog role or owner tag)"})
		return
	}
	a.Operation = "notice to " + a.Owner
}

// announce says what a notice announces for the action: its reversible
// step once the notice period is over, or its removal after the grace
// period when it has none.
func (b *builder) announce(a *Action) string {
	g := b.in.Guardrails
	if op, o, ok := containOp(&a.Target); ok {
		what := "disabled (reversible: " + o.undo + ")"
		if op == OpDelete {
			what = "removed, its definition kept for a restore"
		}
		return fmt.Sprintf("%s %s after this notice: %s", what, duration.Format(g.NoticePeriod), o.call)
	}
	call, _ := removeOp(&a.Target)
	return fmt.Sprintf("removed, irreversibly, %s after this notice: %s", duration.Format(g.DeleteGrace), call)
}

func (b *builder) disableStage(a *Action) {
	op, o, ok := containOp(&a.Target)
	if !ok {
		a.Op = OpDelete
		a.Blocked = append(a.Blocked, Block{Guard: GuardStage, Why: fmt.Sprintf(
			"%s has no reversible operation: it is removed at the delete stage, once its owner's notice is %s old", class(&a.Target), duration.Format(b.in.Guardrails.DeleteGrace))})
		return
	}
	a.Op, a.Operation, a.Undo = op, o.call, o.undo
	if op == OpDisable && a.contained() {
		a.Skip = "already " + string(a.Expect.Status) + " in scan " + fmt.Sprint(b.in.ScanID)
		return
	}
	b.needNotice(a, b.in.Guardrails.NoticePeriod, "disable")
}

// needNotice blocks the action unless its owner was notified at least
// period ago (nothing is needed when period is 0).
func (b *builder) needNotice(a *Action, period time.Duration, what string) {
	if period <= 0 {
		return
	}
	n, ok := b.last(a, OpNotify)
	switch {
	case !ok:
		a.Blocked = append(a.Blocked, Block{Guard: GuardStage,
			Why: fmt.Sprintf("the owner was not notified: apply a notify plan first; %s %s after the notice", what, duration.Format(period))})
	case b.in.Now.Sub(n.At) < period:
		a.Blocked = append(a.Blocked, Block{Guard: GuardStage,
			Why: fmt.Sprintf("the owner was notified %s (plan %d): %s from %s", n.At.UTC().Format(time.RFC3339), n.PlanID, what, n.At.Add(period).UTC().Format(time.RFC3339))})
	}
}

func (b *builder) deleteStage(a *Action, id *nhi.Identity) {
	a.Op = OpDelete
	if a.Want == WantDisable {
		a.Skip = "its sources ask to disable it, never to delete it"
		return
	}
	if restorable(&a.Target) {
		// Its reversible step was already a removal: present now means
		// never removed, or restored since.
		if d, ok := b.last(a, OpDelete); ok {
			a.Blocked = append(a.Blocked, Block{Guard: GuardStage, Why: fmt.Sprintf(
				"removed by plan %d at %s and present again in scan %d (restored?): decide again", d.PlanID, d.At.UTC().Format(time.RFC3339), b.in.ScanID)})
		} else {
			a.Blocked = append(a.Blocked, Block{Guard: GuardStage, Why: "its removal is the disable stage's (restorable): apply a disable plan first"})
		}
		return
	}
	call, ok := removeOp(&a.Target)
	if !ok {
		a.Blocked = append(a.Blocked, Block{Guard: GuardUnsupported, Why: fmt.Sprintf(
			"nhiscan does not delete %s identities: it stays disabled; delete it by hand after review", id.Kind)})
		return
	}
	a.Operation = call
	grace := b.in.Guardrails.DeleteGrace
	if _, _, ok := containOp(&a.Target); !ok {
		// No reversible step: the owner's notice must be a grace period old.
		b.needNotice(a, max(grace, time.Nanosecond), "delete")
		return
	}
	d, ok := b.last(a, OpDisable)
	switch {
	case !ok:
		a.Blocked = append(a.Blocked, Block{Guard: GuardStage, Why: "not disabled by nhiscan yet: apply a disable plan first, then wait " + duration.Format(grace)})
	case !a.contained():
		a.Blocked = append(a.Blocked, Block{Guard: GuardStage, Why: fmt.Sprintf(
			"disabled by plan %d at %s but %s in scan %d: enabled again since; decide again", d.PlanID, d.At.UTC().Format(time.RFC3339), a.Expect.Status, b.in.ScanID)})
	case b.in.Now.Sub(d.At) < grace:
		a.Blocked = append(a.Blocked, Block{Guard: GuardStage, Why: fmt.Sprintf(
			"disabled by plan %d at %s: delete from %s (grace %s)", d.PlanID, d.At.UTC().Format(time.RFC3339), d.At.Add(grace).UTC().Format(time.RFC3339), duration.Format(grace))})
	}
}

// last returns the latest applied, verified and not rolled back step of op
// on the action's target.
func (b *builder) last(a *Action, op Op) (Applied, bool) {
	var out Applied
	found := false
	for _, h := range b.history[a.Target.Key()] {
		if h.Op != op || h.RolledBack || !h.Verified {
			continue
		}
		if !found || h.At.After(out.At) {
			out, found = h, true
		}
	}
	return out, found
}
