// Package collectors holds the contract every provider collector keeps and
// the credential-control vocabulary shared by the providers. The conformance
// suite that checks a collector against the contract is in collectortest.
package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Collector inventories one provider.
//
// Collect returns a partial inventory with gaps when some scopes or sources
// fail; it returns an error only when nothing useful was collected (bad
// configuration, no credentials, the context ended before any scope). The
// inventory it returns must pass nhi.Inventory.Validate, be normalised, list
// every attempted scope in Scopes, and never contain a secret value.
type Collector interface {
	Provider() nhi.Provider
	Collect(ctx context.Context) (nhi.Inventory, error)
}

// Action is a credential control.
type Action string

// Actions, reversible first. Delete is a later, separate step; Restore undoes
// a Delete where the provider allows it (a deploy key re-added from its public
// key, a certificate re-added from its public definition).
const (
	Disable = Action("disable")
	Enable  = Action("enable")
	Delete  = Action("delete")
	Restore = Action("restore")
	// RemoveGrant removes one grant (ActionRequest.GrantID) of an identity:
	// an AWS policy detached or an inline policy deleted, a GCP role
	// binding's member removed. Its RestoreData is what RestoreGrant puts
	// back (the policy ARN, the inline document, the binding).
	RemoveGrant  = Action("remove-grant")
	RestoreGrant = Action("restore-grant")
)

// ActionRequest asks a provider to act on an identity or one of its
// credentials.
type ActionRequest struct {
	Action Action
	// Identity is the identity as collected; providers read NativeID, Name,
	// Scope, Path, Kind and attributes from it.
	Identity nhi.Identity
	// CredentialID names the credential to act on; empty means the identity
	// itself (disable a service account, quarantine a role).
	CredentialID string
	// RestoreData is the RestoreData of an earlier Delete, for Restore
	// (of an earlier RemoveGrant, for RestoreGrant).
	RestoreData json.RawMessage
	// GrantID names the grant a RemoveGrant or RestoreGrant acts on (and
	// Inspect re-reads): one of Identity.Grants.
	GrantID string
}

// ActionResult reports what an action did.
type ActionResult struct {
	// Changed is false when the target was already in the requested state:
	// actions are idempotent.
	Changed bool
	// Before and After describe the state, e.g. "Active" and "Inactive".
	Before, After string
	// RestoreData holds what is needed to undo a Delete (never a secret).
	RestoreData json.RawMessage
	Detail      string
}

// Controller performs credential controls for one provider. Nothing calls a
// Controller unless an operator or the revocation workflow asks.
type Controller interface {
	Act(ctx context.Context, req ActionRequest) (ActionResult, error)
}

// TargetState is one target's state as its provider reports it now: the
// credential ActionRequest.CredentialID names, or the identity itself. The
// revocation workflow reads it just before acting, to refuse when the
// target changed since the plan, and just after, to verify the action.
type TargetState struct {
	// Exists is false when the target is gone: deleted, or its identity
	// deleted (or its name now carries another immutable id).
	Exists bool `json:"exists"`
	// ID is the immutable id the provider reports for the target: the
	// credential id, or the identity's native id.
	ID string `json:"id,omitempty"`
	// Status is the target's effective enablement: active or disabled
	// (a quarantined AWS role or user is disabled). Empty when it is gone.
	Status nhi.Status `json:"status,omitempty"`
	// Native is the provider's own word for the state (Active, Inactive,
	// Quarantined, accountEnabled=false, present).
	Native  string    `json:"native,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Usage is the last use the provider reports for this one target, with
	// its source and as-of time; UsageNotReported when the provider gives
	// none per target (the workflow then compares id and state only).
	Usage  nhi.Usage `json:"usage"`
	Detail string    `json:"detail,omitempty"`
}

// Inspector re-reads one target's current state. It only reads. The
// request's Action is ignored; Identity and CredentialID name the target
// as for Act. A target that is gone is Exists false with a nil error.
type Inspector interface {
	Inspect(ctx context.Context, req ActionRequest) (TargetState, error)
}

// Errors providers translate their SDK errors into. GapKind classifies
// them for gaps.
var (
	ErrNotFound  = errors.New("not found")
	ErrDenied    = errors.New("access denied")
	ErrThrottled = errors.New("throttled")
	// ErrUnavailable: the service, API or feature is not available there
	// (5xx from a gateway, an API not enabled, a missing licence).
	ErrUnavailable = errors.New("unavailable")
	// ErrTimeout: the provider answered that the call timed out.
	ErrTimeout     = errors.New("timed out")
	ErrUnsupported = errors.New("action not supported for this target")
)

// Progress is told each time a collector finishes one scope: an account, a
// subscription, a project or an organisation. Collectors call it from
// several goroutines; nil means nobody listens. The CLI draws its terminal
// progress display from it.
type Progress func(ScopeDone)

// ScopeDone reports one finished scope.
type ScopeDone struct {
	Provider nhi.Provider
	Scope    string
	// Phase names the part of the collection, where a provider collects in
	// phases (for example "entra", "arm", "usage"); empty otherwise.
	Phase string
	// Identities found in the scope; -1 when the collector does not count
	// per scope in this phase.
	Identities int
	// Gaps recorded for the scope in this phase.
	Gaps int
	// Done and Total count the scopes of this phase; Total is 0 when
	// unknown.
	Done, Total int
}

// Report calls p when it is set.
func (p Progress) Report(d ScopeDone) {
	if p != nil {
		p(d)
	}
}
