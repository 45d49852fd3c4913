package reports

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Files the evidence pack gains when the scan has campaigns.
const (
	// FileDecisions is every decision of every campaign built from the
	// scan, defaults at close included.
	FileDecisions = "decisions.csv"
	// FileCampaigns is one row per campaign with its KPIs.
	FileCampaigns = "campaigns.csv"
)

// CampaignEvidence is what the evidence pack records of the recertification
// campaigns built from its scan.
type CampaignEvidence struct {
	Campaigns []CampaignSummary
	Decisions []DecisionRow
}

// CampaignSummary is one campaign with its KPIs (at its close, or at the
// export for a campaign still open).
type CampaignSummary struct {
	ID                  int64
	Name                string
	ScanID              int64
	State               string
	CreatedBy           string
	CreatedAt, OpenedAt time.Time
	Deadline, ClosedAt  time.Time
	// UnansweredDefault is what unanswered items came to.
	UnansweredDefault string
	KPIs              KPIs
}

// KPIs are a campaign's headline counts (see campaign.KPIs).
type KPIs struct {
	Items, Identities, Reviewers             int
	Certified, Revoked, Reduced, Reassigned  int
	DontKnow, Unanswered, Overdue, Conflicts int
	Escalated, Leavers, Defaulted            int
}

// DecisionRow is one decision on one campaign item.
type DecisionRow struct {
	CampaignID, DecisionID                   int64
	ItemID, ParentItemID                     int
	ItemKind, Provider, Scope                string
	IdentityID, IdentityName                 string
	CredentialID, GrantID, Entitlement       string
	Reviewer, Decision                       string
	CertifiedUntil                           time.Time
	GrantsRemoved                            []string
	ReassignTo                               string
	At                                       time.Time
	Justification, Conflict, BulkID, Default string
	// Source is where the decision came from (cli, import, web, demo,
	// certify, close).
	Source string
	// Remediation is what remains to do: pending, superseded or none (the
	// revocation workflow records progress beyond pending).
	Remediation string
}

var (
	decisionColumns = []string{
		"campaign_id", "decision_id", "item_id", "parent_item_id", "item_kind",
		"provider", "scope", "identity_id", "identity_name", "credential_id", "grant_id", "entitlement",
		"reviewer", "decision", "certified_until", "grants_removed", "reassign_to", "decided_at",
		"justification", "conflict", "bulk", "bulk_id", "unanswered_default", "source", "remediation_status",
	}
	campaignColumns = []string{
		"campaign_id", "name", "scan_id", "state", "created_by", "created_at", "opened_at", "deadline", "closed_at",
		"unanswered_default", "items", "identities", "reviewers", "certified", "revoked", "reduced", "reassigned",
		"dont_know", "unanswered", "overdue", "conflicts", "escalated", "leavers", "defaulted",
	}
)

// campaignBuilders are the pack's campaign files, when the input has
// campaign evidence (an empty one still writes both files, header only).
func (ev *evidence) campaignBuilders() []struct {
	name  string
	build func(io.Writer) (int, error)
} {
	if ev.in.Campaigns == nil {
		return nil
	}
	return []struct {
		name  string
		build func(io.Writer) (int, error)
	}{
		{FileDecisions, ev.writeDecisions},
		{FileCampaigns, ev.writeCampaigns},
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func (ev *evidence) writeDecisions(w io.Writer) (int, error) {
	cw, err := newCSVWriter(w, append(slices.Clone(snapshotColumns), decisionColumns...))
	if err != nil {
		return 0, err
	}
	rows := slices.Clone(ev.in.Campaigns.Decisions)
	slices.SortStableFunc(rows, func(a, b DecisionRow) int {
		if a.CampaignID != b.CampaignID {
			return compareInt64(a.CampaignID, b.CampaignID)
		}
		return compareInt64(a.DecisionID, b.DecisionID)
	})
	for _, d := range rows {
		if err := cw.Write(ev.snapAt, ev.snapSHA,
			itoa64(d.CampaignID), itoa64(d.DecisionID), strconv.Itoa(d.ItemID), optInt(d.ParentItemID), d.ItemKind,
			d.Provider, d.Scope, d.IdentityID, d.IdentityName, d.CredentialID, d.GrantID, d.Entitlement,
			d.Reviewer, d.Decision, rfc3339(d.CertifiedUntil), strings.Join(d.GrantsRemoved, ";"), d.ReassignTo, rfc3339(d.At),
			d.Justification, d.Conflict, boolCell(d.BulkID != ""), d.BulkID, d.Default, d.Source, d.Remediation); err != nil {
			return 0, err
		}
	}
	return cw.rows, cw.Flush()
}

func (ev *evidence) writeCampaigns(w io.Writer) (int, error) {
	cw, err := newCSVWriter(w, append(slices.Clone(snapshotColumns), campaignColumns...))
	if err != nil {
		return 0, err
	}
	rows := slices.Clone(ev.in.Campaigns.Campaigns)
	slices.SortStableFunc(rows, func(a, b CampaignSummary) int { return compareInt64(a.ID, b.ID) })
	for _, c := range rows {
		k := c.KPIs
		cells := []string{ev.snapAt, ev.snapSHA,
			itoa64(c.ID), c.Name, itoa64(c.ScanID), c.State, c.CreatedBy, rfc3339(c.CreatedAt), rfc3339(c.OpenedAt),
			rfc3339(c.Deadline), rfc3339(c.ClosedAt), c.UnansweredDefault}
		for _, n := range []int{k.Items, k.Identities, k.Reviewers, k.Certified, k.Revoked, k.Reduced, k.Reassigned,
			k.DontKnow, k.Unanswered, k.Overdue, k.Conflicts, k.Escalated, k.Leavers, k.Defaulted} {
			cells = append(cells, strconv.Itoa(n))
		}
		if err := cw.Write(cells...); err != nil {
			return 0, err
		}
	}
	return cw.rows, cw.Flush()
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func optInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// ReviewRow is one campaign item in the offline review file: its context
// (read-only) and the decision columns a reviewer fills in.
type ReviewRow struct {
	CampaignID                             int64
	ItemID, ParentItemID                   int
	ItemKind, Provider, Scope              string
	IdentityID, IdentityName, IdentityKind string
	CredentialID, CredentialType           string
	GrantID, Entitlement, GrantScope       string
	Role, Purpose, Owner, OwnerStatus      string
	Privileged                             string
	RequiresJustification                  bool
	Baseline, Findings                     string
	LastUsed, LastUsedSource, LastUsedAsOf string
	UsageGap, Drift, Gaps, Conflict        string
	Deadline                               time.Time
	CurrentDecision                        string
	Reviewer                               string
}

// ReviewColumns are the columns of the offline review file; the last
// six (reviewer, decision, until, grants, reassign_to, justification) are
// what `campaign decisions import` reads.
var ReviewColumns = []string{
	"campaign_id", "item_id", "parent_item_id", "item_kind", "provider", "scope",
	"identity_id", "identity_name", "identity_kind", "credential_id", "credential_type",
	"grant_id", "entitlement", "grant_scope", "role", "purpose", "owner", "owner_status",
	"privileged", "requires_justification", "baseline", "findings",
	"last_used", "last_used_source", "last_used_as_of", "usage_gap", "drift", "gaps", "conflict",
	"deadline", "current_decision",
	"reviewer", "decision", "until", "grants", "reassign_to", "justification",
}

// WriteReviewCSV writes the offline review file: one row per item with its
// context, the reviewer filled in, and empty decision columns. Every cell
// goes through SafeCell.
func WriteReviewCSV(w io.Writer, rows []ReviewRow) error {
	cw, err := newCSVWriter(w, ReviewColumns)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(itoa64(r.CampaignID), strconv.Itoa(r.ItemID), optInt(r.ParentItemID), r.ItemKind, r.Provider, r.Scope,
			r.IdentityID, r.IdentityName, r.IdentityKind, r.CredentialID, r.CredentialType,
			r.GrantID, r.Entitlement, r.GrantScope, r.Role, r.Purpose, r.Owner, r.OwnerStatus,
			r.Privileged, boolCell(r.RequiresJustification), r.Baseline, r.Findings,
			r.LastUsed, r.LastUsedSource, r.LastUsedAsOf, r.UsageGap, r.Drift, r.Gaps, r.Conflict,
			rfc3339(r.Deadline), r.CurrentDecision,
			r.Reviewer, "", "", "", "", ""); err != nil {
			return err
		}
	}
	return cw.Flush()
}
