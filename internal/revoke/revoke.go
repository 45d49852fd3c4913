// Package revoke plans, applies, verifies and rolls back the revocation of
// non-human identity credentials (docs/revocation.md).
//
// A plan is built (Build) from one stored scan: the revoke and reduce
// decisions of closed recertification campaigns, the revoke or disable
// defaults of their unanswered items, and the opt-in policies of the
// configuration (dormant credentials, departed owners, exposed keys), all
// off by default. Each action names its target by immutable id, the stage's
// provider operation, its reasons and the facts it relies on (with their
// scan and as-of time). The guardrails (guards.go) block an action whose
// facets the scan did not observe, whose usage data is stale, whose
// identity is protected or too young, which is beyond the caps, or which
// comes before its stage: notify the owner, then disable (reversible), then
// after a grace period delete, each stage its own plan. Blocked actions stay
// in the plan with every reason.
//
// Applying a plan (Executor) re-reads each target just before acting and
// refuses when it changed since the plan (Check), acts, reads it back
// (Verify), and journals a row before and after each action, so a process
// killed between two actions resumes without acting twice. Rollback undoes
// what an applied plan changed, where the provider allows.
//
// Build, Check, Verify, History and the guardrails are pure: no clock, no
// I/O. The Executor acts only through the interfaces it declares (Journal,
// Controls, Notifier); the store, the provider controls and the notices are
// wired in by the command line. The package never decides on unobserved
// data: what a scan did not observe blocks an action, it never justifies
// one.
package revoke

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Stage is one step of a revocation; each stage is its own plan.
type Stage string

// Stages, in order.
const (
	// StageNotify tells each target's owner what will be disabled, and
	// from when.
	StageNotify = Stage("notify")
	// StageDisable contains a target reversibly: a key set inactive, a
	// principal disabled, a role quarantined, or a restorable removal.
	StageDisable = Stage("disable")
	// StageDelete removes, irreversibly, what the disable stage contained
	// at least a grace period ago.
	StageDelete = Stage("delete")
)

// Stages lists the stages in order.
var Stages = []Stage{StageNotify, StageDisable, StageDelete}

// Valid reports whether s is a known stage.
func (s Stage) Valid() bool { return s == StageNotify || s == StageDisable || s == StageDelete }

// Op is what an action does to its target.
type Op string

// Operations. Enable and Restore are the rollbacks of Disable and of a
// restorable Delete.
const (
	OpNotify  = Op("notify")
	OpDisable = Op("disable")
	OpEnable  = Op("enable")
	OpDelete  = Op("delete")
	OpRestore = Op("restore")
	OpReduce  = Op("reduce")
)

// Want is what the sources asked for a target.
type Want string

// Wants. Revoke contains the target and later deletes it; disable only
// contains it (a delete stage never deletes it); reduce removes a grant.
const (
	WantRevoke  = Want("revoke")
	WantDisable = Want("disable")
	WantReduce  = Want("reduce")
)

// Target is what one action acts on: an identity, or one of its
// credentials or grants, named by immutable ids.
type Target struct {
	Provider     nhi.Provider     `json:"provider"`
	Scope        string           `json:"scope"`
	IdentityID   string           `json:"identity_id"`
	IdentityName string           `json:"identity_name,omitempty"`
	IdentityKind nhi.IdentityKind `json:"identity_kind,omitempty"`
	// NativeID is the identity's immutable provider id.
	NativeID string `json:"native_id,omitempty"`
	// CredentialID is the credential's immutable id; empty when the
	// action is on the identity (or a grant).
	CredentialID   string             `json:"credential_id,omitempty"`
	CredentialType nhi.CredentialType `json:"credential_type,omitempty"`
	// GrantID names the grant of a reduce.
	GrantID     string `json:"grant_id,omitempty"`
	Entitlement string `json:"entitlement,omitempty"`
	// GrantKind is the grant's kind (managed-policy, inline-policy,
	// role-binding…): it decides the reduce's operation.
	GrantKind string `json:"grant_kind,omitempty"`
}

// Key is the target's stable key: identity, credential and grant ids.
func (t *Target) Key() string {
	return t.IdentityID + "|" + t.CredentialID + "|" + t.GrantID
}

// Label names the target for people: the identity, and the credential or
// entitlement below it.
func (t *Target) Label() string {
	switch {
	case t.CredentialID != "":
		return t.IdentityName + " / " + string(t.CredentialType) + " " + t.CredentialID
	case t.GrantID != "":
		return t.IdentityName + " / " + t.Entitlement
	}
	return t.IdentityName + " (" + string(t.IdentityKind) + ")"
}

// Reason is one source that asked for an action.
type Reason struct {
	// Source is campaign, default (an unanswered item's campaign default)
	// or policy.
	Source string `json:"source"`
	// Ref names it: "campaign 3 item 12 decision 40", "policy dormant".
	Ref  string `json:"ref"`
	Text string `json:"text"`
}

// Reason sources.
const (
	SourceCampaign = "campaign"
	SourceDefault  = "default"
	SourcePolicy   = "policy"
)

// Fact is one fact an action relies on, with where it was observed.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Source is the facet, usage source or API the fact comes from.
	Source string `json:"source,omitempty"`
	// ScanID is the scan that observed it; 0 for a live re-read.
	ScanID int64     `json:"scan_id,omitempty"`
	AsOf   time.Time `json:"as_of,omitzero"`
}

// Block is one reason an action may not be applied.
type Block struct {
	// Guard is the guardrail: coverage, freshness, protected, min-age,
	// cap, stage, unsupported, campaign.
	Guard string `json:"guard"`
	Why   string `json:"why"`
}

// Guards that block actions.
const (
	GuardCoverage    = "coverage"
	GuardFreshness   = "freshness"
	GuardProtected   = "protected"
	GuardMinAge      = "min-age"
	GuardCap         = "cap"
	GuardStage       = "stage"
	GuardUnsupported = "unsupported"
	GuardCampaign    = "campaign"
)

// Expect is the target's state the plan relies on; apply refuses when the
// re-read differs (Check).
type Expect struct {
	// ID is the immutable id of the target: the credential id, or the
	// identity's native id.
	ID      string     `json:"id"`
	Status  nhi.Status `json:"status"`
	Created time.Time  `json:"created,omitzero"`
	Usage   nhi.Usage  `json:"usage"`
}

// Action is one step of a plan on one target.
type Action struct {
	// ID numbers the action within its plan, from 1.
	ID int `json:"id"`
	Target
	Want Want `json:"want"`
	Op   Op   `json:"op"`
	// Operation names the provider call; Undo the call that rolls it back,
	// empty when the operation is irreversible.
	Operation string   `json:"operation,omitempty"`
	Undo      string   `json:"undo,omitempty"`
	Reasons   []Reason `json:"reasons"`
	Facts     []Fact   `json:"facts"`
	// Facets are the facets of the target's scope the action depends on.
	Facets []nhi.Facet `json:"facets,omitempty"`
	Expect Expect      `json:"expect"`
	// Findings are the fingerprints of the unsuppressed findings on the
	// target in the plan's scan: a later scan that resolves them marks them
	// remediated by this action.
	Findings []string `json:"findings,omitempty"`
	// Owner is who the notify stage tells; Then, in a notify plan, what
	// the notice announces (the next stage's operation).
	Owner string `json:"owner,omitempty"`
	Then  string `json:"then,omitempty"`
	// Blocked lists every guardrail that stops the action; empty when it
	// is ready.
	Blocked []Block `json:"blocked,omitempty"`
	// Skip says why there is nothing to do (already disabled, gone); an
	// action with Skip set is neither ready nor blocked.
	Skip string `json:"skip,omitempty"`
}

// Ready reports whether the action may be applied.
func (a *Action) Ready() bool { return len(a.Blocked) == 0 && a.Skip == "" }

// Guardrails bound what a plan may do. Zero caps mean no cap.
type Guardrails struct {
	// Freshness is how old the scan and the usage data an action relies on
	// may be, and how long a plan stays appliable.
	Freshness time.Duration `json:"freshness"`
	// MinIdentityAge: identities younger than this are never acted on.
	MinIdentityAge time.Duration `json:"min_identity_age"`
	// MaxPerRun and MaxPerScope cap the ready actions of one plan, in all
	// and per account, project, tenant or organisation.
	MaxPerRun   int `json:"max_per_run"`
	MaxPerScope int `json:"max_per_scope"`
	// NoticePeriod is how long before a disable its owner must have been
	// notified (0: the notify stage is not required before a disable).
	NoticePeriod time.Duration `json:"notice_period"`
	// DeleteGrace is how long a target stays disabled before the delete
	// stage removes it (and how old the notice of a target with no
	// reversible step must be).
	DeleteGrace time.Duration `json:"delete_grace"`
}

// Policy is one opt-in plan source of the configuration.
type Policy struct {
	On bool `json:"on"`
	// After is the policy's threshold (dormant longer than, departed more
	// than).
	After time.Duration `json:"after,omitempty"`
}

// Policies are the opt-in plan sources, all off by default.
type Policies struct {
	// Dormant revokes active credentials unused (or never used since
	// their creation) for longer than After.
	Dormant Policy `json:"dormant"`
	// DepartedOwner disables the active static credentials of identities
	// whose owner left more than After ago.
	DepartedOwner Policy `json:"departed_owner"`
	// Exposed revokes credentials the provider reports exposed.
	Exposed Policy `json:"exposed"`
}

// Plan is one stage's actions, built from one scan.
type Plan struct {
	ID     int64 `json:"id"`
	ScanID int64 `json:"scan_id"`
	Stage  Stage `json:"stage"`
	// ScanAt is when the scan's inventory was collected.
	ScanAt     time.Time  `json:"scan_at"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	Guardrails Guardrails `json:"guardrails"`
	Policies   Policies   `json:"policies"`
	// Sources says what the plan read: each campaign and policy.
	Sources []string `json:"sources"`
	// Actions are every action, ready, blocked or skipped, numbered from 1
	// in a stable order (provider, scope, identity, credential, grant).
	Actions []Action `json:"actions"`
}

// Counts of a plan's actions.
type Counts struct {
	Ready, Blocked, Skipped int
}

// Count counts the plan's ready, blocked and skipped actions.
func (p *Plan) Count() Counts {
	var c Counts
	for i := range p.Actions {
		switch a := &p.Actions[i]; {
		case a.Skip != "":
			c.Skipped++
		case len(a.Blocked) > 0:
			c.Blocked++
		default:
			c.Ready++
		}
	}
	return c
}

// Action returns the action with the given id.
func (p *Plan) Action(id int) (*Action, bool) {
	if id >= 1 && id <= len(p.Actions) && p.Actions[id-1].ID == id {
		return &p.Actions[id-1], true
	}
	for i := range p.Actions {
		if p.Actions[i].ID == id {
			return &p.Actions[i], true
		}
	}
	return nil, false
}

// State is one target's current state as its provider reports it (the
// provider's collectors.TargetState).
type State struct {
	Exists  bool       `json:"exists"`
	ID      string     `json:"id,omitempty"`
	Status  nhi.Status `json:"status,omitempty"`
	Native  string     `json:"native,omitempty"`
	Created time.Time  `json:"created,omitzero"`
	Usage   nhi.Usage  `json:"usage"`
	Detail  string     `json:"detail,omitempty"`
}

// Result is what the provider said an operation did.
type Result struct {
	Changed bool   `json:"changed"`
	Before  string `json:"before,omitempty"`
	After   string `json:"after,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// RestoreData undoes a restorable delete (never a secret).
	RestoreData json.RawMessage `json:"restore_data,omitempty"`
}

// Errors the executor and its callers test with errors.Is.
var (
	// ErrTargetGone: the provider no longer has the target.
	ErrTargetGone = errors.New("target gone")
	// ErrAlreadyDone: the journal already records the step as done
	// (another run completed it).
	ErrAlreadyDone = errors.New("already done")
	// ErrPlanExpired: the plan is older than the freshness threshold.
	ErrPlanExpired = errors.New("plan expired")
)

// guardrailsJSON is Guardrails with durations as the configuration writes
// them (7d, 36h).
type guardrailsJSON struct {
	Freshness      string `json:"freshness"`
	MinIdentityAge string `json:"min_identity_age"`
	MaxPerRun      int    `json:"max_per_run"`
	MaxPerScope    int    `json:"max_per_scope"`
	NoticePeriod   string `json:"notice_period"`
	DeleteGrace    string `json:"delete_grace"`
}

// MarshalJSON writes durations as the configuration does ("7d").
func (g Guardrails) MarshalJSON() ([]byte, error) {
	return json.Marshal(guardrailsJSON{duration.Format(g.Freshness), duration.Format(g.MinIdentityAge), g.MaxPerRun, g.MaxPerScope,
		duration.Format(g.NoticePeriod), duration.Format(g.DeleteGrace)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (g *Guardrails) UnmarshalJSON(b []byte) error {
	var w guardrailsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := Guardrails{MaxPerRun: w.MaxPerRun, MaxPerScope: w.MaxPerScope}
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{w.Freshness, &out.Freshness}, {w.MinIdentityAge, &out.MinIdentityAge}, {w.NoticePeriod, &out.NoticePeriod}, {w.DeleteGrace, &out.DeleteGrace}} {
		v, err := parseDuration(d.s)
		if err != nil {
			return err
		}
		*d.dst = v
	}
	*g = out
	return nil
}

// MarshalJSON writes the threshold as the configuration does ("180d").
func (p Policy) MarshalJSON() ([]byte, error) {
	type wire struct {
		On    bool   `json:"on"`
		After string `json:"after,omitempty"`
	}
	w := wire{On: p.On}
	if p.After != 0 {
		w.After = duration.Format(p.After)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Policy) UnmarshalJSON(b []byte) error {
	var w struct {
		On    bool   `json:"on"`
		After string `json:"after"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	after, err := parseDuration(w.After)
	if err != nil {
		return err
	}
	*p = Policy{On: w.On, After: after}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	return duration.Parse(s)
}
