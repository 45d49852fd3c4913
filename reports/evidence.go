package reports

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// EvidenceFormat identifies the layout of an evidence pack. It changes when
// a file or column is removed or changes meaning; adding a column does not.
// Version 2: gaps.csv is the coverage matrix (one row per scope and facet,
// observed or the gap that hid it) instead of one row per gap, and a scope
// with any gap is partial.
const EvidenceFormat = "nhiscan-evidence/2"

// evidenceFormats are the formats VerifyEvidence reads: a pack's integrity
// checks are the same in both.
var evidenceFormats = []string{"nhiscan-evidence/1", EvidenceFormat}

// Names of the files of an evidence pack.
const (
	FilePopulation   = "population.csv"
	FileEntitlements = "entitlements.csv"
	FileFindings     = "findings.csv"
	FileDrift        = "drift.csv"
	FileGaps         = "gaps.csv"
	FileSnapshot     = "snapshot.json"
	FileManifest     = "manifest.json"
	// FileChecksums lists the SHA-256 of every other file of the pack,
	// manifest.json included, in the format of `sha256sum -c`, so a pack
	// can be checked without nhiscan. It lists exactly the pack's files.
	FileChecksums = "SHA256SUMS"
	// FileSignature, present when the pack was signed, is a signed
	// statement of manifest.json's SHA-256 (see WriteEvidenceSigned). It
	// is listed in SHA256SUMS but not in the manifest, which it signs.
	FileSignature = "manifest.json.sig"
)

// ManifestSigner signs a pack's manifest: given the bytes of manifest.json
// and the manifest, it returns the content of FileSignature.
type ManifestSigner func(manifest []byte, m Manifest) ([]byte, error)

// ErrEvidenceMismatch is wrapped by every VerifyEvidence error that shows
// the pack differs from its manifest.
var ErrEvidenceMismatch = errors.New("evidence does not match its manifest")

// Manifest describes an evidence pack: where it came from and the SHA-256 of
// every file in it. Times are RFC 3339 UTC strings.
type Manifest struct {
	Format      string `json:"format"`
	ToolVersion string `json:"tool_version"`
	ScanID      int64  `json:"scan_id"`
	ScanStatus  string `json:"scan_status"`
	// Partial is true when the scan has a coverage gap (see gaps.csv):
	// some facet of some scope was not observed.
	Partial        bool   `json:"partial"`
	ScanStartedAt  string `json:"scan_started_at,omitempty"`
	ScanEndedAt    string `json:"scan_ended_at,omitempty"`
	EvaluatedAt    string `json:"evaluated_at,omitempty"`
	PreviousScanID int64  `json:"previous_scan_id,omitempty"`
	// SnapshotAt is when the inventory was collected; SnapshotSHA256 is the
	// SHA-256 of its canonical JSON form, which is exactly snapshot.json.
	SnapshotAt     string `json:"snapshot_at"`
	SnapshotSHA256 string `json:"snapshot_sha256"`
	CatalogSHA256  string `json:"catalog_sha256,omitempty"`
	GeneratedAt    string `json:"generated_at"`

	Files    []ManifestFile    `json:"files"`
	Scopes   []ManifestScope   `json:"scopes"`
	Controls []ManifestControl `json:"controls"`
	Totals   ManifestTotals    `json:"totals"`
}

// ManifestFile is one file of the pack. Rows counts data rows (the header
// excluded) for CSV files and identities for snapshot.json.
type ManifestFile struct {
	Name   string `json:"name"`
	Rows   int    `json:"rows"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ManifestScope is one account, project, tenant or organisation the scan
// attempted, with what was found there.
type ManifestScope struct {
	Provider     nhi.Provider `json:"provider"`
	ID           string       `json:"id"`
	Name         string       `json:"name,omitempty"`
	Identities   int          `json:"identities"`
	Credentials  int          `json:"credentials"`
	Grants       int          `json:"grants"`
	OpenFindings int          `json:"open_findings"`
	Gaps         int          `json:"gaps"`
	Partial      bool         `json:"partial"`
	// NotObserved lists the facets of the scope the scan did not observe
	// (gaps.csv says why), sorted.
	NotObserved []nhi.Facet `json:"not_observed,omitempty"`
}

// ManifestControl is one control reference the findings map to, with how
// many findings (all statuses) and open findings support it.
type ManifestControl struct {
	Ref          string `json:"ref"`
	Findings     int    `json:"findings"`
	OpenFindings int    `json:"open_findings"`
}

// ManifestTotals are the pack's headline counts.
type ManifestTotals struct {
	Scopes             int `json:"scopes"`
	Identities         int `json:"identities"`
	Credentials        int `json:"credentials"`
	Grants             int `json:"grants"`
	Gaps               int `json:"gaps"`
	OpenFindings       int `json:"open_findings"`
	SuppressedFindings int `json:"suppressed_findings"`
	ResolvedFindings   int `json:"resolved_findings"`
	DriftFindings      int `json:"drift_findings"`
	// NotReevaluatedFindings counts the findings the scan kept without
	// re-evaluating them (a facet they rest on was not observed).
	NotReevaluatedFindings int `json:"not_reevaluated_findings"`
}

// Column sets of the evidence CSV files; docs/evidence.md describes each.
var (
	snapshotColumns   = []string{"snapshot_at", "snapshot_sha256"}
	populationColumns = []string{
		"provider", "scope", "scope_name", "scope_partial",
		"identity_id", "native_id", "identity_kind", "identity_name", "identity_arn", "identity_path",
		"identity_status", "identity_created_at", "provider_managed", "third_party",
		"identity_usage_state", "identity_last_used_at", "identity_last_used_source", "identity_last_used_data_as_of",
		"credential_id", "credential_type", "credential_name", "credential_static", "credential_status",
		"credential_created_at", "credential_expires_at",
		"credential_usage_state", "credential_last_used_at", "credential_last_used_source", "credential_last_used_data_as_of",
		"grant_count", "privileged_grant_count",
		"catalog_role_id", "business_owner", "owner_source", "owner_status", "technical_owner", "team", "owner_hints",
		"finding_families", "open_findings", "severity", "exceptions", "exception_expires_at", "control_refs",
	}
	entitlementColumns = []string{
		"provider", "scope", "scope_partial", "identity_id", "identity_kind", "identity_name", "identity_status",
		"grant_id", "grant_kind", "entitlement", "grant_scope", "privilege", "privileged", "privileged_reason", "via", "granted_at",
		"catalog_role_id", "business_owner", "owner_status", "technical_owner",
		"finding_families", "open_findings", "severity", "exceptions", "exception_expires_at", "control_refs",
	}
	evidenceFindingColumns = []string{
		"fingerprint", "rule_id", "family", "severity", "status", "title",
		"provider", "scope", "identity_id", "identity_kind", "identity_name",
		"credential_id", "grant_id", "catalog_role_id", "business_owner", "owner_source", "owner_status", "technical_owner",
		"first_seen_at", "last_seen_at", "evidence", "exception", "exception_expires_at",
		"remediation", "control_refs",
		"facets", "resolved_at", "resolved_scan_id", "not_reevaluated", "not_reevaluated_reason",
	}
	// gaps.csv is the coverage matrix.
	gapColumns = []string{
		"provider", "scope", "scope_name", "facet", "observed", "why", "gap_source", "gap_kind", "permission", "detail",
	}
)

// evidence holds the derived state shared by the file builders.
type evidence struct {
	in         Input
	inv        nhi.Inventory
	snapAt     string
	snapSHA    string
	snapshot   []byte         // snapshot.json
	idents     []nhi.Identity // sorted by provider, scope, id
	findings   []FindingRow   // sorted
	byIdentity map[string][]FindingRow
	// coverage is the coverage matrix (see coverageCells).
	coverage []nhi.FacetStatus
}

// WriteEvidence writes the auditor's evidence pack for one scan into dir,
// which must be empty or not exist: population.csv (identity × credential),
// entitlements.csv (identity × grant), findings.csv (every non-drift
// finding, all statuses), drift.csv, gaps.csv, snapshot.json (the inventory
// in canonical JSON), manifest.json and SHA256SUMS. Every CSV row carries
// the snapshot time and SHA-256. The same input and generatedAt always give
// the same bytes. It returns the manifest it wrote.
func WriteEvidence(dir string, in Input, generatedAt time.Time) (Manifest, error) {
	return WriteEvidenceSigned(dir, in, generatedAt, nil)
}

// WriteEvidenceSigned is WriteEvidence that, when sign is not nil, also
// writes FileSignature: sign's statement over manifest.json, written
// before SHA256SUMS, which lists it.
func WriteEvidenceSigned(dir string, in Input, generatedAt time.Time, sign ManifestSigner) (Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return Manifest{}, err
	}
	ev := newEvidence(in)
	if in.Scan.SnapshotHash != "" && !strings.EqualFold(in.Scan.SnapshotHash, ev.snapSHA) {
		return Manifest{}, fmt.Errorf("evidence: scan %d records snapshot sha256 %s but the inventory hashes to %s",
			in.Scan.ID, in.Scan.SnapshotHash, ev.snapSHA)
	}
	m := ev.manifest(generatedAt)

	builders := []struct {
		name  string
		build func(io.Writer) (int, error)
	}{
		{FilePopulation, ev.writePopulation},
		{FileEntitlements, ev.writeEntitlements},
		{FileFindings, func(w io.Writer) (int, error) { return ev.writeFindings(w, false) }},
		{FileDrift, func(w io.Writer) (int, error) { return ev.writeFindings(w, true) }},
		{FileGaps, ev.writeGaps},
	}
	builders = append(builders, ev.campaignBuilders()...)
	builders = append(builders, ev.remediationBuilders()...)
	if p := in.OCSF; p != nil {
		builders = append(builders, struct {
			name  string
			build func(io.Writer) (int, error)
		}{FileOCSF, func(w io.Writer) (int, error) { return WriteFindingsOCSF(w, in.Findings, *p, in.Scan.EvaluatedAt) }})
	}
	files := map[string][]byte{FileSnapshot: ev.snapshot}
	m.Files = append(m.Files, manifestFile(FileSnapshot, len(ev.inv.Identities), ev.snapshot))
	for _, b := range builders {
		var buf bytes.Buffer
		rows, err := b.build(&buf)
		if err != nil {
			return Manifest{}, fmt.Errorf("evidence: %s: %w", b.name, err)
		}
		files[b.name] = buf.Bytes()
		m.Files = append(m.Files, manifestFile(b.name, rows, buf.Bytes()))
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return cmp.Compare(a.Name, b.Name) })

	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("evidence: encode manifest: %w", err)
	}
	files[FileManifest] = append(textsafe.JSON(mj), '\n') // scope names are collected strings
	if sign != nil {
		sig, err := sign(files[FileManifest], m)
		if err != nil {
			return Manifest{}, fmt.Errorf("evidence: sign manifest: %w", err)
		}
		files[FileSignature] = sig
	}
	files[FileChecksums] = checksums(files)

	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return Manifest{}, fmt.Errorf("evidence: %w", err)
		}
	}
	return m, nil
}

func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("evidence: directory %s is not empty: a pack must hold only its own files", dir)
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func manifestFile(name string, rows int, b []byte) ManifestFile {
	return ManifestFile{Name: name, Rows: rows, Bytes: len(b), SHA256: sha256Hex(b)}
}

// checksums renders a SHA256SUMS file for every file except itself.
func checksums(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		if n != FileChecksums {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sha256Hex(files[n]), n)
	}
	return b.Bytes()
}

// newEvidence derives the shared state of the evidence files and the HTML
// report from an input. It never changes the input.
func newEvidence(in Input) *evidence {
	ev := &evidence{in: in, inv: normalizedInventory(in.Inventory)}
	// Encode once: the snapshot file and its digest (equal to
	// nhi.Inventory.Hash) come from the same bytes.
	var snap bytes.Buffer
	_ = nhi.Encode(&snap, ev.inv) // writing to a bytes.Buffer cannot fail
	ev.snapshot = snap.Bytes()
	ev.snapSHA = sha256Hex(ev.snapshot)
	// The snapshot stays in its canonical (id) order; the CSV files list
	// identities by provider, scope and id.
	ev.idents = slices.Clone(ev.inv.Identities)
	sortIdentities(ev.idents)
	at := ev.inv.CollectedAt
	if at.IsZero() {
		at = in.Scan.Started
	}
	ev.snapAt = rfc3339(at)
	ev.findings = clone(in.Findings)
	sortFindings(ev.findings)
	ev.byIdentity = map[string][]FindingRow{}
	for _, f := range ev.findings {
		ev.byIdentity[f.IdentityID] = append(ev.byIdentity[f.IdentityID], f)
	}
	ev.coverage = coverageCells(&ev.inv)
	return ev
}

// coverageCells is the inventory's coverage matrix (nhi.Coverage.Matrix:
// each facet of each collected scope, observed or not), plus a cell for
// every gap that hides no cell of it — a provider-wide gap where nothing
// of the provider was collected, a gap on a scope not listed, or one
// identity's gap (a row of its own beside the observed facet) — so that
// every gap appears. Sorted by provider, scope and facet.
func coverageCells(inv *nhi.Inventory) []nhi.FacetStatus {
	cov := inv.Coverage()
	cells := cov.Matrix(inv)
	type key struct {
		p     nhi.Provider
		scope string
	}
	listed := map[key]bool{}
	for _, c := range cells {
		listed[key{c.Provider, c.Scope}] = true
		listed[key{c.Provider, ""}] = true
	}
	for i := range inv.Gaps {
		g := &inv.Gaps[i]
		if g.Identity != "" {
			// One identity's gap leaves the scope's facet observed for
			// the others; its own row says so.
			for _, f := range g.Hides() {
				cells = append(cells, nhi.FacetStatus{Provider: g.Provider, Scope: g.Scope, Facet: f, Gap: g,
					Why: "for identity " + g.Identity + " only: " + g.Source + " " + string(g.Kind)})
			}
			continue
		}
		if listed[key{g.Provider, g.Scope}] {
			continue
		}
		fs := g.Hides()
		if len(fs) == 0 {
			fs = []nhi.Facet{""}
		}
		for _, f := range fs {
			cells = append(cells, nhi.FacetStatus{Provider: g.Provider, Scope: g.Scope, Facet: f, Gap: g, Why: g.Source + " " + string(g.Kind)})
		}
	}
	slices.SortStableFunc(cells, func(a, b nhi.FacetStatus) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Facet, b.Facet))
	})
	return cells
}

func (ev *evidence) ownership(id string) nhi.Ownership {
	o, ok := ev.in.Ownership[id]
	if !ok || o.OwnerStatus == "" {
		o.OwnerStatus = nhi.OwnerUnknown
	}
	return o
}

// rowFindings summarises the findings that apply to one row.
type rowFindings struct {
	families, exceptions, expires, controls string
	open                                    int
	severity                                nhi.Severity
}

func summarise(rows []FindingRow, applies func(FindingRow) bool) rowFindings {
	var s rowFindings
	var fams, excs, exps, ctrls []string
	for _, f := range rows {
		if !applies(f) {
			continue
		}
		switch f.Status {
		case StatusOpen:
			s.open++
			fams = append(fams, f.Family)
			if f.Severity.Rank() > s.severity.Rank() {
				s.severity = f.Severity
			}
			ctrls = append(ctrls, f.Controls...)
		case StatusSuppressed:
			excs = append(excs, f.Exception)
			exps = append(exps, rfc3339(f.ExceptionExpires))
			ctrls = append(ctrls, f.Controls...)
		}
	}
	s.families = strings.Join(familyOrder(fams), ";")
	s.exceptions = joinSorted(excs)
	if e := uniqueSorted(exps); len(e) > 0 {
		s.expires = e[0] // the earliest: RFC 3339 UTC strings sort by time
	}
	s.controls = joinSorted(ctrls)
	return s
}

func (ev *evidence) scopeNames() map[string]string {
	names := map[string]string{}
	for _, s := range ev.inv.Scopes {
		names[string(s.Provider)+"\x00"+s.ID] = s.Name
	}
	return names
}

func boolCell(b bool) string { return strconv.FormatBool(b) }

func (ev *evidence) writePopulation(w io.Writer) (int, error) {
	cw, err := newCSVWriter(w, append(slices.Clone(snapshotColumns), populationColumns...))
	if err != nil {
		return 0, err
	}
	names := ev.scopeNames()
	for _, id := range ev.idents {
		o := ev.ownership(id.ID)
		var hints []string
		for _, h := range id.OwnerHints {
			hints = append(hints, h.Source+":"+h.Value)
		}
		privileged := 0
		for i := range id.Grants {
			if p, _ := privilege.Effective(id.Provider, &id.Grants[i]); p {
				privileged++
			}
		}
		ident := []string{ev.snapAt, ev.snapSHA,
			string(id.Provider), id.Scope, names[string(id.Provider)+"\x00"+id.Scope], boolCell(ev.inv.Partial(id.Provider, id.Scope)),
			id.ID, id.NativeID, string(id.Kind), id.Name, id.ARN, id.Path,
			string(id.Status), rfc3339(id.Created), boolCell(id.ProviderManaged), boolCell(id.ThirdParty),
			string(id.Usage.State), rfc3339(id.Usage.LastUsed), id.Usage.Source, rfc3339(id.Usage.AsOf),
		}
		tail := func(s rowFindings) []string {
			return []string{strconv.Itoa(len(id.Grants)), strconv.Itoa(privileged),
				o.RoleID, o.Owner, o.OwnerSource, o.OwnerStatus, o.TechnicalOwner, o.Team, strings.Join(hints, ";"),
				s.families, strconv.Itoa(s.open), string(s.severity), s.exceptions, s.expires, s.controls}
		}
		fs := ev.byIdentity[id.ID]
		if len(id.Credentials) == 0 {
			s := summarise(fs, func(FindingRow) bool { return true })
			row := append(slices.Clone(ident), make([]string, 11)...)
			if err := cw.Write(append(row, tail(s)...)...); err != nil {
				return 0, err
			}
			continue
		}
		for _, c := range id.Credentials {
			s := summarise(fs, func(f FindingRow) bool { return f.CredentialID == "" || f.CredentialID == c.ID })
			row := append(slices.Clone(ident),
				c.ID, string(c.Type), c.Name, boolCell(c.Type.Static() && !c.ProviderRotated), string(c.Status),
				rfc3339(c.Created), rfc3339(c.Expires),
				string(c.Usage.State), rfc3339(c.Usage.LastUsed), c.Usage.Source, rfc3339(c.Usage.AsOf))
			if err := cw.Write(append(row, tail(s)...)...); err != nil {
				return 0, err
			}
		}
	}
	return cw.rows, cw.Flush()
}

func (ev *evidence) writeEntitlements(w io.Writer) (int, error) {
	cw, err := newCSVWriter(w, append(slices.Clone(snapshotColumns), entitlementColumns...))
	if err != nil {
		return 0, err
	}
	for _, id := range ev.idents {
		o := ev.ownership(id.ID)
		fs := ev.byIdentity[id.ID]
		for _, g := range id.Grants {
			s := summarise(fs, func(f FindingRow) bool { return f.GrantID == g.ID })
			priv, reason := privilege.Effective(id.Provider, &g)
			err := cw.Write(ev.snapAt, ev.snapSHA,
				string(id.Provider), id.Scope, boolCell(ev.inv.Partial(id.Provider, id.Scope)),
				id.ID, string(id.Kind), id.Name, string(id.Status),
				g.ID, g.Kind, g.Entitlement, g.Scope, string(g.Privilege), boolCell(priv), reason, g.Via, rfc3339(g.Created),
				o.RoleID, o.Owner, o.OwnerStatus, o.TechnicalOwner,
				s.families, strconv.Itoa(s.open), string(s.severity), s.exceptions, s.expires, s.controls)
			if err != nil {
				return 0, err
			}
		}
	}
	return cw.rows, cw.Flush()
}

func (ev *evidence) writeFindings(w io.Writer, drift bool) (int, error) {
	cw, err := newCSVWriter(w, append(slices.Clone(snapshotColumns), evidenceFindingColumns...))
	if err != nil {
		return 0, err
	}
	for _, f := range ev.findings {
		if (f.Family == nhi.FamilyDrift) != drift {
			continue
		}
		o := ev.ownership(f.IdentityID)
		owner, src, role := f.Owner, f.OwnerSource, f.RoleID
		if owner == "" {
			owner, src = o.Owner, o.OwnerSource
		}
		if role == "" {
			role = o.RoleID
		}
		cells := []string{ev.snapAt, ev.snapSHA,
			f.Fingerprint, f.RuleID, f.Family, string(f.Severity), f.Status, f.Title,
			string(f.Provider), f.Scope, f.IdentityID, string(f.IdentityKind), f.IdentityName,
			f.CredentialID, f.GrantID, role, owner, src, o.OwnerStatus, o.TechnicalOwner,
			rfc3339(f.FirstSeen), rfc3339(f.LastSeen), evidenceString(f.Evidence), f.Exception, rfc3339(f.ExceptionExpires),
			f.Remediation, joinSorted(f.Controls)}
		if err := cw.Write(append(cells, lifecycleCells(f)...)...); err != nil {
			return 0, err
		}
	}
	return cw.rows, cw.Flush()
}

// writeGaps writes gaps.csv: the coverage matrix, one row per scope and
// facet, observed or the gap that hid it.
func (ev *evidence) writeGaps(w io.Writer) (int, error) {
	cw, err := newCSVWriter(w, append(slices.Clone(snapshotColumns), gapColumns...))
	if err != nil {
		return 0, err
	}
	names := ev.scopeNames()
	for _, c := range ev.coverage {
		var src, kind, perm, detail string
		if g := c.Gap; g != nil {
			src, kind, perm, detail = g.Source, string(g.Kind), g.Permission, g.Detail
		}
		err := cw.Write(ev.snapAt, ev.snapSHA,
			string(c.Provider), c.Scope, names[string(c.Provider)+"\x00"+c.Scope], string(c.Facet), boolCell(c.Observed),
			c.Why, src, kind, perm, detail)
		if err != nil {
			return 0, err
		}
	}
	return cw.rows, cw.Flush()
}

func (ev *evidence) manifest(generatedAt time.Time) Manifest {
	in := ev.in
	m := Manifest{
		Format: EvidenceFormat, ToolVersion: in.Scan.ToolVersion, ScanID: in.Scan.ID,
		ScanStatus: in.Scan.Status, Partial: partial(in),
		ScanStartedAt: rfc3339(in.Scan.Started), ScanEndedAt: rfc3339(in.Scan.Ended),
		EvaluatedAt: rfc3339(in.Scan.EvaluatedAt),
		SnapshotAt:  ev.snapAt, SnapshotSHA256: ev.snapSHA,
		CatalogSHA256: strings.ToLower(in.Scan.CatalogHash), GeneratedAt: rfc3339(generatedAt),
		Files: []ManifestFile{}, Scopes: []ManifestScope{}, Controls: []ManifestControl{},
	}
	if in.Previous != nil {
		m.PreviousScanID = in.Previous.ID
	}
	scopes := ev.manifestScopes(&m.Totals)
	ctrls := map[string]*ManifestControl{}
	for _, f := range ev.findings {
		if s, ok := scopes[scopeKey{f.Provider, f.Scope}]; ok && f.Status == StatusOpen {
			s.OpenFindings++
		}
		countFinding(&m.Totals, ctrls, &f)
	}
	for _, s := range scopes {
		m.Scopes = append(m.Scopes, *s)
	}
	slices.SortFunc(m.Scopes, func(a, b ManifestScope) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.ID, b.ID))
	})
	m.Totals.Scopes = len(m.Scopes)
	for _, c := range ctrls {
		m.Controls = append(m.Controls, *c)
	}
	slices.SortFunc(m.Controls, func(a, b ManifestControl) int { return cmp.Compare(a.Ref, b.Ref) })
	return m
}

type scopeKey struct {
	p  nhi.Provider
	id string
}

// manifestScopes counts identities, credentials, grants and gaps per scope
// (every scope attempted, and every scope a gap names) and in totals, and
// lists each scope's facets not observed.
func (ev *evidence) manifestScopes(totals *ManifestTotals) map[scopeKey]*ManifestScope {
	scopes := map[scopeKey]*ManifestScope{}
	scope := func(p nhi.Provider, id string) *ManifestScope {
		k := scopeKey{p, id}
		if s, ok := scopes[k]; ok {
			return s
		}
		s := &ManifestScope{Provider: p, ID: id, Partial: ev.inv.Partial(p, id)}
		scopes[k] = s
		return s
	}
	for _, s := range ev.inv.Scopes {
		scope(s.Provider, s.ID).Name = s.Name
	}
	for _, id := range ev.idents {
		s := scope(id.Provider, id.Scope)
		s.Identities++
		s.Credentials += len(id.Credentials)
		s.Grants += len(id.Grants)
		totals.Identities++
		totals.Credentials += len(id.Credentials)
		totals.Grants += len(id.Grants)
	}
	for _, g := range ev.inv.Gaps {
		totals.Gaps++
		if g.Scope != "" {
			scope(g.Provider, g.Scope)
		}
	}
	for k, s := range scopes {
		for _, g := range ev.inv.Gaps {
			if g.Provider == k.p && (g.Scope == "" || g.Scope == k.id) {
				s.Gaps++
			}
		}
	}
	for _, c := range ev.coverage {
		if c.Gap != nil && c.Gap.Identity != "" {
			continue // the facet was observed for the scope's other identities
		}
		if s, ok := scopes[scopeKey{c.Provider, c.Scope}]; ok && !c.Observed && c.Facet != "" {
			s.NotObserved = append(s.NotObserved, c.Facet)
		}
	}
	return scopes
}

// countFinding adds one finding to the totals and to its controls' counts.
func countFinding(t *ManifestTotals, ctrls map[string]*ManifestControl, f *FindingRow) {
	switch f.Status {
	case StatusOpen:
		t.OpenFindings++
	case StatusSuppressed:
		t.SuppressedFindings++
	case StatusResolved:
		t.ResolvedFindings++
	}
	if f.Family == nhi.FamilyDrift {
		t.DriftFindings++
	}
	if f.NotReevaluated != nil {
		t.NotReevaluatedFindings++
	}
	for _, c := range uniqueSorted(f.Controls) {
		mc, ok := ctrls[c]
		if !ok {
			mc = &ManifestControl{Ref: c}
			ctrls[c] = mc
		}
		mc.Findings++
		if f.Status == StatusOpen {
			mc.OpenFindings++
		}
	}
}

// VerifyEvidence checks an evidence pack against its manifest: every listed
// file exists with the recorded SHA-256, byte size and row count;
// snapshot.json hashes to the manifest's snapshot_sha256; SHA256SUMS lists
// exactly the pack's files — each once, none missing, none extra, manifest
// and signature included — with their SHA-256; and no file is present that
// the manifest does not list (FileSignature aside, which signs it). It
// reports every problem at once; problems that show the pack was changed
// wrap ErrEvidenceMismatch.
//
// A pack whose manifest was rewritten together with its files verifies; to
// detect that, keep the SHA-256 of manifest.json somewhere the pack's holder
// cannot write (the audit log, a ticket), or check FileSignature with the
// signer's public key. VerifyEvidence does not check the signature.
func VerifyEvidence(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if err != nil {
		return fmt.Errorf("verify evidence: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("verify evidence: %s: %w", FileManifest, err)
	}
	if !slices.Contains(evidenceFormats, m.Format) {
		return fmt.Errorf("verify evidence: %s: format %q, want one of %q", FileManifest, m.Format, evidenceFormats)
	}
	var errs []error
	mismatch := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(a, ErrEvidenceMismatch)...))
	}
	listed := map[string]bool{FileManifest: true, FileChecksums: true, FileSignature: true}
	for _, f := range m.Files {
		if f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." || listed[f.Name] {
			mismatch("%s: file name %q is not allowed", FileManifest, f.Name)
			continue
		}
		listed[f.Name] = true
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			mismatch("%s: %v", f.Name, err)
			continue
		}
		if got := sha256Hex(b); got != f.SHA256 {
			mismatch("%s: sha256 is %s, manifest records %s", f.Name, got, f.SHA256)
		}
		if len(b) != f.Bytes {
			mismatch("%s: %d bytes, manifest records %d", f.Name, len(b), f.Bytes)
		}
		rows, err := countRows(f.Name, b)
		switch {
		case err != nil:
			mismatch("%s: %v", f.Name, err)
		case rows != f.Rows:
			mismatch("%s: %d rows, manifest records %d", f.Name, rows, f.Rows)
		}
		if f.Name == FileSnapshot && sha256Hex(b) != m.SnapshotSHA256 {
			mismatch("%s: sha256 is %s, manifest snapshot_sha256 is %s", f.Name, sha256Hex(b), m.SnapshotSHA256)
		}
	}
	if !listed[FileSnapshot] {
		mismatch("%s: %s is not listed", FileManifest, FileSnapshot)
	}
	errs = append(errs, verifyChecksums(dir)...)
	ents, err := os.ReadDir(dir)
	if err != nil {
		errs = append(errs, fmt.Errorf("verify evidence: %w", err))
	}
	for _, e := range ents {
		if !listed[e.Name()] {
			mismatch("%s: not listed in the manifest", e.Name())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("verify evidence %s: %w", dir, errors.Join(errs...))
	}
	return nil
}

func countRows(name string, b []byte) (int, error) {
	switch {
	case name == FileSnapshot:
		// Count without validating: a pack records what was collected,
		// even an inventory a stricter reader would refuse.
		var snap struct {
			Identities []json.RawMessage `json:"identities"`
		}
		if err := json.Unmarshal(b, &snap); err != nil {
			return 0, err
		}
		return len(snap.Identities), nil
	case strings.HasSuffix(name, ".jsonl"):
		n := 0
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			if !json.Valid(l) {
				return 0, fmt.Errorf("line %d is not JSON", n+1)
			}
			n++
		}
		return n, nil
	case strings.HasSuffix(name, ".csv"):
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			return 0, errors.New("no header row")
		}
		return len(recs) - 1, nil
	}
	return 0, nil
}

// verifyChecksums checks SHA256SUMS: well-formed lines, each naming a
// file once with its SHA-256, and together exactly the files of the pack
// other than SHA256SUMS itself.
func verifyChecksums(dir string) []error {
	f, err := os.Open(filepath.Join(dir, FileChecksums))
	if err != nil {
		return []error{fmt.Errorf("%s: %w", FileChecksums, errors.Join(err, ErrEvidenceMismatch))}
	}
	defer f.Close()
	var errs []error
	mismatch := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(FileChecksums+format+": %w", append(a, ErrEvidenceMismatch)...))
	}
	lines := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || name != filepath.Base(name) || name == "." || name == ".." || len(sum) != sha256.Size*2 {
			mismatch(":%d: malformed line", n)
			continue
		}
		if first, dup := lines[name]; dup {
			mismatch(":%d: %s is listed again (first on line %d)", n, name, first)
			continue
		}
		lines[name] = n
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", FileChecksums, n, errors.Join(err, ErrEvidenceMismatch)))
			continue
		}
		if got := sha256Hex(b); got != sum {
			mismatch(":%d: %s has sha256 %s, recorded %s", n, name, got, sum)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", FileChecksums, err))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return append(errs, fmt.Errorf("%s: %w", FileChecksums, err))
	}
	for _, e := range ents {
		if _, ok := lines[e.Name()]; !ok && e.Name() != FileChecksums {
			mismatch(": %s is not listed (a line was removed, or the file added)", e.Name())
		}
	}
	return errs
}
