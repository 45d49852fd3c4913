package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// OCSF: findings as Open Cybersecurity Schema Framework events of class
// Detection Finding (class_uid 2004, category Findings, category_uid 2),
// one JSON object a line (NDJSON), for SIEMs (`--format ocsf`, and
// findings.ocsf.jsonl in an evidence pack exported with --format ocsf).
//
// The attribute names follow the OCSF 1.x schema (events/findings/
// detection_finding.json and finding.json, objects finding_info,
// resource_details, remediation, cloud, metadata and product). What OCSF
// has no attribute for (the rule's evidence, the facets a finding rests on,
// a finding kept without re-evaluation, its exception) is under unmapped,
// the base event's place for it. The lifecycle maps as:
//
//   - open, first seen by this scan: activity Create, status New
//   - open, seen before: activity Update, status New
//   - suppressed by an exception: activity Update, status Suppressed
//   - resolved: activity Close, status Resolved
//
// A finding kept without re-evaluation stays open (Update): nhiscan did
// not observe what it rests on, so it is not resolved, and
// unmapped.nhiscan.not_reevaluated says why.

// OCSF constants.
const (
	OCSFVersion      = "1.5.0"
	OCSFClassUID     = 2004
	OCSFCategoryUID  = 2
	ocsfClassName    = "Detection Finding"
	ocsfCategoryName = "Findings"
)

// FileOCSF is the evidence pack's OCSF findings file (with --format ocsf).
const FileOCSF = "findings.ocsf.jsonl"

// OCSFProduct names the reporting product in each event's metadata.
type OCSFProduct struct {
	Version string
}

type ocsfEvent struct {
	ActivityID   int    `json:"activity_id"`
	ActivityName string `json:"activity_name"`
	CategoryUID  int    `json:"category_uid"`
	CategoryName string `json:"category_name"`
	ClassUID     int    `json:"class_uid"`
	ClassName    string `json:"class_name"`
	TypeUID      int    `json:"type_uid"`
	TypeName     string `json:"type_name"`
	SeverityID   int    `json:"severity_id"`
	Severity     string `json:"severity"`
	StatusID     int    `json:"status_id"`
	Status       string `json:"status"`
	Time         int64  `json:"time"`
	Message      string `json:"message"`
	IsAlert      bool   `json:"is_alert"`

	Metadata    ocsfMetadata    `json:"metadata"`
	FindingInfo ocsfFindingInfo `json:"finding_info"`
	Resources   []ocsfResource  `json:"resources"`
	Cloud       *ocsfCloud      `json:"cloud,omitempty"`
	Remediation *ocsfRemedy     `json:"remediation,omitempty"`
	Unmapped    map[string]any  `json:"unmapped,omitempty"`
}

type ocsfMetadata struct {
	Version  string      `json:"version"`
	Product  ocsfProduct `json:"product"`
	UID      string      `json:"uid"`
	Profiles []string    `json:"profiles,omitempty"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

type ocsfFindingInfo struct {
	UID           string        `json:"uid"`
	Title         string        `json:"title"`
	Desc          string        `json:"desc,omitempty"`
	Types         []string      `json:"types,omitempty"`
	Analytic      ocsfAnalytic  `json:"analytic"`
	FirstSeenTime int64         `json:"first_seen_time,omitempty"`
	LastSeenTime  int64         `json:"last_seen_time,omitempty"`
	CreatedTime   int64         `json:"created_time,omitempty"`
	DataSources   []string      `json:"data_sources,omitempty"`
	Tags          []ocsfKeyPair `json:"tags,omitempty"`
}

type ocsfAnalytic struct {
	UID    string `json:"uid"`
	Name   string `json:"name"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

type ocsfKeyPair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type ocsfResource struct {
	UID   string     `json:"uid"`
	Name  string     `json:"name,omitempty"`
	Type  string     `json:"type,omitempty"`
	Group string     `json:"group,omitempty"`
	Owner *ocsfOwner `json:"owner,omitempty"`
}

type ocsfOwner struct {
	Name      string `json:"name,omitempty"`
	EmailAddr string `json:"email_addr,omitempty"`
}

type ocsfCloud struct {
	Provider string       `json:"provider"`
	Account  *ocsfAccount `json:"account,omitempty"`
}

type ocsfAccount struct {
	UID string `json:"uid"`
}

type ocsfRemedy struct {
	Desc       string   `json:"desc"`
	References []string `json:"references,omitempty"`
}

// ocsfSeverity maps nhiscan's severities to OCSF severity_id and caption.
var ocsfSeverity = map[nhi.Severity]struct {
	id   int
	name string
}{
	nhi.SevInfo: {1, "Informational"}, nhi.SevLow: {2, "Low"}, nhi.SevMedium: {3, "Medium"},
	nhi.SevHigh: {4, "High"}, nhi.SevCritical: {5, "Critical"},
}

// WriteFindingsOCSF writes rows as OCSF Detection Finding events, one a
// line, sorted like the other findings outputs; at is the event time of a
// row with no time of its own. It returns the number of events.
func WriteFindingsOCSF(w io.Writer, rows []FindingRow, p OCSFProduct, at time.Time) (int, error) {
	rows = clone(rows)
	sortFindings(rows)
	for _, r := range rows {
		b, err := json.Marshal(OCSFEvent(r, p, at))
		if err != nil {
			return 0, fmt.Errorf("findings ocsf: %w", err)
		}
		if _, err := w.Write(append(textsafe.JSON(b), '\n')); err != nil {
			return 0, fmt.Errorf("findings ocsf: %w", err)
		}
	}
	return len(rows), nil
}

// OCSFEvent is one finding as an OCSF Detection Finding event.
func OCSFEvent(r FindingRow, p OCSFProduct, at time.Time) any {
	act, actName, status, statusName := ocsfLifecycle(r)
	sev, ok := ocsfSeverity[r.Severity]
	if !ok {
		sev.id, sev.name = 0, "Unknown"
	}
	e := ocsfEvent{
		ActivityID: act, ActivityName: actName, CategoryUID: OCSFCategoryUID, CategoryName: ocsfCategoryName,
		ClassUID: OCSFClassUID, ClassName: ocsfClassName, TypeUID: OCSFClassUID*100 + act, TypeName: ocsfClassName + ": " + actName,
		SeverityID: sev.id, Severity: sev.name, StatusID: status, Status: statusName,
		Time: ocsfTime(firstNonZero(r.ResolvedAt, r.LastSeen, r.FirstSeen, at)), Message: r.Title,
		IsAlert: r.Status == StatusOpen,
		Metadata: ocsfMetadata{Version: OCSFVersion, UID: r.Fingerprint, Profiles: []string{"cloud"},
			Product: ocsfProduct{Name: "nhiscan", VendorName: "nhiscan", Version: p.Version}},
		FindingInfo: ocsfFindingInfo{UID: r.Fingerprint, Title: r.Title, Types: []string{r.Family},
			Analytic:      ocsfAnalytic{UID: r.RuleID, Name: r.RuleID, TypeID: 1, Type: "Rule"},
			FirstSeenTime: ocsfTime(r.FirstSeen), LastSeenTime: ocsfTime(r.LastSeen), CreatedTime: ocsfTime(r.FirstSeen),
			DataSources: facetStrings(r.Facets)},
		Resources: []ocsfResource{{UID: r.IdentityID, Name: r.IdentityName, Type: string(r.IdentityKind), Group: r.Scope, Owner: ocsfOwnerOf(r.Owner)}},
		Cloud:     &ocsfCloud{Provider: string(r.Provider), Account: &ocsfAccount{UID: r.Scope}},
	}
	if r.Remediation != "" {
		e.Remediation = &ocsfRemedy{Desc: r.Remediation, References: uniqueSorted(r.Controls)}
	}
	if r.RoleID != "" {
		e.FindingInfo.Tags = append(e.FindingInfo.Tags, ocsfKeyPair{"catalog_role", r.RoleID})
	}
	e.Unmapped = ocsfUnmapped(r)
	return e
}

// ocsfLifecycle maps the finding's lifecycle to OCSF activity and status.
func ocsfLifecycle(r FindingRow) (act int, actName string, status int, statusName string) {
	switch {
	case r.Status == StatusResolved:
		return 3, "Close", 4, "Resolved"
	case r.Status == StatusSuppressed:
		return 2, "Update", 3, "Suppressed"
	case r.NotReevaluated == nil && !r.FirstSeen.IsZero() && r.FirstSeen.Equal(r.LastSeen):
		return 1, "Create", 1, "New"
	}
	return 2, "Update", 1, "New"
}

// ocsfUnmapped holds what OCSF has no attribute for.
func ocsfUnmapped(r FindingRow) map[string]any {
	n := map[string]any{"provider": string(r.Provider), "scope": r.Scope, "status": r.Status}
	if len(r.Evidence) > 0 {
		n["evidence"] = r.Evidence
	}
	if r.CredentialID != "" {
		n["credential_id"] = r.CredentialID
	}
	if r.GrantID != "" {
		n["grant_id"] = r.GrantID
	}
	if r.Exception != "" {
		n["exception"] = r.Exception
	}
	if r.NotReevaluated != nil {
		n["not_reevaluated"] = r.NotReevaluated
	}
	if r.ResolvedScanID != 0 {
		n["resolved_scan_id"] = r.ResolvedScanID
	}
	return map[string]any{"nhiscan": n}
}

func ocsfOwnerOf(owner string) *ocsfOwner {
	switch {
	case owner == "":
		return nil
	case strings.Contains(owner, "@"):
		return &ocsfOwner{EmailAddr: owner}
	}
	return &ocsfOwner{Name: owner}
}

func facetStrings(fs []nhi.Facet) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, string(f))
	}
	return out
}

// ocsfTime is an OCSF timestamp: milliseconds since the epoch; 0 for a
// zero time (then omitted where optional).
func ocsfTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
