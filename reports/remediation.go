package reports

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FileRemediation is the evidence pack's revocation record: every
// journaled step of the revocation actions that concern the scan.
const FileRemediation = "remediation.csv"

// RemediationEvidence is what the evidence pack records of revocation:
// the actions of the plans built from the scan, and the actions whose
// findings the scan marked remediated.
type RemediationEvidence struct {
	Rows []RemediationRow
}

// RemediationRow is one journaled step of one revocation action.
type RemediationRow struct {
	PlanID   int64
	ActionID int
	// Stage is the plan's (notify, disable, delete); Op what the action
	// does (disable, delete, notify; enable or restore in a rollback);
	// Operation the provider call.
	Stage, Op, Operation                      string
	Provider, Scope, IdentityID, IdentityName string
	CredentialID, GrantID                     string
	// Reasons are the sources that asked for the action, "; "-joined.
	Reasons string
	// Phase is apply or rollback; Step begin (an interrupted run),
	// done, refused, failed or unverified.
	Phase, Step      string
	Approver, Reason string
	At               time.Time
	// Before and After are the target's state re-read before acting and
	// read back after.
	Before, After string
	Changed       bool
	VerifiedAt    time.Time
	Note          string
	// FindingsRemediated are the fingerprints a later scan resolved after
	// the action, and RemediatedScanID the first such scan.
	FindingsRemediated []string
	RemediatedScanID   int64
}

var remediationColumns = []string{
	"plan_id", "action_id", "stage", "action", "operation",
	"provider", "scope", "identity_id", "identity_name", "credential_id", "grant_id", "reasons",
	"phase", "step", "approver", "approval_reason", "at", "before", "after", "changed", "verified_at", "note",
	"findings_remediated", "remediated_scan_id",
}

// remediationBuilders is the pack's remediation file, when the input has
// remediation evidence (an empty one still writes the header).
func (ev *evidence) remediationBuilders() []struct {
	name  string
	build func(io.Writer) (int, error)
} {
	if ev.in.Remediation == nil {
		return nil
	}
	return []struct {
		name  string
		build func(io.Writer) (int, error)
	}{{FileRemediation, ev.writeRemediation}}
}

func (ev *evidence) writeRemediation(w io.Writer) (int, error) {
	cw, err := newCSVWriter(w, append(slices.Clone(snapshotColumns), remediationColumns...))
	if err != nil {
		return 0, err
	}
	rows := slices.Clone(ev.in.Remediation.Rows)
	slices.SortStableFunc(rows, func(a, b RemediationRow) int {
		switch {
		case a.PlanID != b.PlanID:
			return compareInt64(a.PlanID, b.PlanID)
		case a.ActionID != b.ActionID:
			return a.ActionID - b.ActionID
		}
		return a.At.Compare(b.At)
	})
	for _, r := range rows {
		fps := slices.Clone(r.FindingsRemediated)
		slices.Sort(fps)
		scan := ""
		if r.RemediatedScanID != 0 {
			scan = itoa64(r.RemediatedScanID)
		}
		if err := cw.Write(ev.snapAt, ev.snapSHA,
			itoa64(r.PlanID), strconv.Itoa(r.ActionID), r.Stage, r.Op, r.Operation,
			r.Provider, r.Scope, r.IdentityID, r.IdentityName, r.CredentialID, r.GrantID, r.Reasons,
			r.Phase, r.Step, r.Approver, r.Reason, rfc3339(r.At), r.Before, r.After, boolCell(r.Changed), rfc3339(r.VerifiedAt), r.Note,
			strings.Join(fps, ";"), scan); err != nil {
			return 0, err
		}
	}
	return cw.rows, cw.Flush()
}
