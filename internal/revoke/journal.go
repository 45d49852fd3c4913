package revoke

import (
	"time"
)

// Phase says whether a journal entry applies a plan or rolls it back.
type Phase string

// Phases.
const (
	PhaseApply    = Phase("apply")
	PhaseRollback = Phase("rollback")
)

// Step is one journal row of an action.
type Step string

// Steps. Begin is written just before the provider is asked to act; done,
// refused, failed or unverified after. An action whose latest step is done
// is never acted on again; one whose latest step is begin was interrupted
// (the next run re-reads the target to learn whether the action happened).
const (
	StepBegin      = Step("begin")
	StepDone       = Step("done")
	StepRefused    = Step("refused")
	StepFailed     = Step("failed")
	StepUnverified = Step("unverified")
)

// Entry is one journal row.
type Entry struct {
	// Seq is the store's sequence number; 0 until recorded.
	Seq      int64     `json:"seq,omitempty"`
	PlanID   int64     `json:"plan_id"`
	ActionID int       `json:"action_id"`
	Phase    Phase     `json:"phase"`
	Step     Step      `json:"step"`
	Op       Op        `json:"op"`
	Approver string    `json:"approver"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	// Before is the target as re-read just before acting; After as read
	// back after it.
	Before *State `json:"before,omitempty"`
	After  *State `json:"after,omitempty"`
	// Result is what the provider answered (done and unverified steps).
	Result *Result `json:"result,omitempty"`
	// VerifiedAt is when the read-back showed the wanted state.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	// Note says why a step ended as it did: the refusal, the error, what
	// an interrupted run left.
	Note string `json:"note,omitempty"`
}

// Latest returns the latest entry of each action in one phase, by action
// id.
func Latest(entries []Entry, phase Phase) map[int]Entry {
	out := map[int]Entry{}
	for _, e := range entries {
		if e.Phase != phase {
			continue
		}
		if p, ok := out[e.ActionID]; !ok || e.Seq > p.Seq || (e.Seq == p.Seq && !e.At.Before(p.At)) {
			out[e.ActionID] = e
		}
	}
	return out
}

// Applied is one step an earlier plan completed on a target: what the
// later stages of the same target wait for.
type Applied struct {
	PlanID   int64 `json:"plan_id"`
	ActionID int   `json:"action_id"`
	Stage    Stage `json:"stage"`
	Op       Op    `json:"op"`
	Target
	At       time.Time `json:"at"`
	Changed  bool      `json:"changed"`
	Verified bool      `json:"verified"`
	// RolledBack is set once the step was rolled back.
	RolledBack bool `json:"rolled_back"`
}

// History lists the completed steps of the plans' journals: each action
// whose apply phase is done, with whether its read-back verified it and
// whether it was rolled back since. Sorted by plan and action.
func History(plans []Plan, journal []Entry) []Applied {
	byPlan := map[int64][]Entry{}
	for _, e := range journal {
		byPlan[e.PlanID] = append(byPlan[e.PlanID], e)
	}
	var out []Applied
	for pi := range plans {
		p := &plans[pi]
		applied := Latest(byPlan[p.ID], PhaseApply)
		rolled := Latest(byPlan[p.ID], PhaseRollback)
		for i := range p.Actions {
			a := &p.Actions[i]
			e, ok := applied[a.ID]
			if !ok || e.Step != StepDone {
				continue
			}
			h := Applied{PlanID: p.ID, ActionID: a.ID, Stage: p.Stage, Op: a.Op, Target: a.Target, At: e.At,
				Verified: !e.VerifiedAt.IsZero(), RolledBack: rolled[a.ID].Step == StepDone}
			if e.Result != nil {
				h.Changed = e.Result.Changed
			}
			out = append(out, h)
		}
	}
	return out
}
