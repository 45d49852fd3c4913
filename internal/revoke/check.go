package revoke

import (
	"fmt"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Verdict is what a re-read of a target allows.
type Verdict struct {
	// Act: the target is as the plan saw it; act.
	Act bool
	// Done: the target is already in the state the operation wants;
	// record it as done without acting.
	Done bool
	// Refuse says how the target changed since the plan; nothing is done.
	Refuse string
	// Note adds what the comparison could not check.
	Note string
}

// wanted is the state an operation leaves its target in: present and
// with a status, or gone.
type wanted struct {
	exists bool
	status nhi.Status
}

func want(op Op) (wanted, bool) {
	switch op {
	case OpDisable:
		return wanted{true, nhi.StatusDisabled}, true
	case OpEnable:
		return wanted{true, nhi.StatusActive}, true
	case OpDelete, OpReduce:
		return wanted{false, ""}, true
	case OpRestore:
		return wanted{true, ""}, true
	}
	return wanted{}, false
}

func (w wanted) reached(st State) bool {
	if !w.exists {
		return !st.Exists
	}
	return st.Exists && (w.status == "" || st.Status == w.status)
}

// Check compares the re-read of an action's target, just before acting,
// with what the plan relied on. The target must carry the same immutable
// id, the same status and creation time, and no use later than the plan
// saw; otherwise the action is refused. A target already in the wanted
// state is done without acting. Where the provider does not report the
// target's last use, id and state are compared and Note says so.
func Check(a *Action, st State) Verdict {
	w, ok := want(a.Op)
	if !ok {
		return Verdict{Refuse: fmt.Sprintf("operation %s is not applied to a provider", a.Op)}
	}
	if w.reached(st) {
		return Verdict{Done: true, Note: "already " + stateText(st) + ": nothing to do"}
	}
	if a.Op == OpRestore && !st.Exists {
		return Verdict{Act: true}
	}
	if !st.Exists {
		return Verdict{Refuse: "the target is gone since the plan" + detail(st)}
	}
	if st.ID != "" && a.Expect.ID != "" && st.ID != a.Expect.ID {
		return Verdict{Refuse: fmt.Sprintf("the target's id is now %s, not %s: replaced since the plan", st.ID, a.Expect.ID)}
	}
	if st.Status != a.Expect.Status {
		return Verdict{Refuse: fmt.Sprintf("the target is %s, the plan saw it %s", st.Status, a.Expect.Status)}
	}
	if !a.Expect.Created.IsZero() && !st.Created.IsZero() && !sameSecond(a.Expect.Created, st.Created) {
		return Verdict{Refuse: fmt.Sprintf("the target was created %s, the plan saw %s: replaced since the plan",
			st.Created.UTC().Format(time.RFC3339), a.Expect.Created.UTC().Format(time.RFC3339))}
	}
	if why := usedSince(a.Expect.Usage, st.Usage); why != "" {
		return Verdict{Refuse: why}
	}
	v := Verdict{Act: true}
	if !st.Usage.Known() {
		v.Note = "the provider does not report this target's last use (" + usageText(st.Usage) + "): compared id and state only"
	}
	return v
}

// usedSince says how the target was used after the plan's last use, or
// "" when it was not (or the re-read does not tell).
func usedSince(planned, now nhi.Usage) string {
	if now.State != nhi.UsageUsed {
		return ""
	}
	switch planned.State {
	case nhi.UsageNeverUsed:
		return "the target was used at " + now.LastUsed.UTC().Format(time.RFC3339) + "; the plan saw it never used"
	case nhi.UsageUsed:
		if now.LastUsed.Truncate(time.Second).After(planned.LastUsed.Truncate(time.Second)) {
			return fmt.Sprintf("the target was used at %s, after the last use the plan saw (%s)",
				now.LastUsed.UTC().Format(time.RFC3339), planned.LastUsed.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

func sameSecond(a, b time.Time) bool { return a.Truncate(time.Second).Equal(b.Truncate(time.Second)) }

func stateText(st State) string {
	if !st.Exists {
		return "gone"
	}
	if st.Native != "" && st.Native != string(st.Status) {
		return string(st.Status) + " (" + st.Native + ")"
	}
	return string(st.Status)
}

func detail(st State) string {
	if st.Detail == "" {
		return ""
	}
	return ": " + st.Detail
}

// Verify checks the read-back after an operation: the target is in the
// state the operation wants. A restore may re-create the target under a new
// id (a GitHub deploy key, an Entra federated credential), which a re-read
// by the old id cannot find: the provider's answer then stands, and the
// note says so.
func Verify(op Op, after State, res Result) (bool, string) {
	w, ok := want(op)
	if !ok {
		return false, "operation " + string(op) + " has no state to verify"
	}
	if w.reached(after) {
		return true, ""
	}
	if op == OpRestore && res.Changed && res.After == "present" {
		return true, "re-created under a new id (" + res.Detail + "): verified by the provider's answer"
	}
	return false, "read back " + stateText(after) + detail(after) + ", not the wanted state"
}
