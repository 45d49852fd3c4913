// Package notify delivers campaign notices by email: one digest per
// reviewer per send, as HTML and plain text, with invite, reminder and
// escalation templates, over SMTP (STARTTLS or implicit TLS) with
// github.com/wneessen/go-mail, or into a folder of .eml files (the demo's
// outbox and `campaign send --dry-run`).
//
// Everything a notice shows comes from cloud APIs and the catalog, so every
// value is treated as hostile: control characters, line breaks and bidi
// overrides are shown as escapes (reports.TermText), HTML is escaped by
// html/template, header values never carry a line break, and a recipient
// must be a plain address. A notice holds metadata only: no secret is ever
// part of one. The package never decides who gets what: internal/campaign
// does.
package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var byKind = map[campaign.NoticeKind]templates{}

func init() {
	for _, k := range []campaign.NoticeKind{campaign.NoticeInvite, campaign.NoticeReminder, campaign.NoticeEscalation} {
		byKind[k] = templates{
			text: texttemplate.Must(texttemplate.New("").ParseFS(templateFS, "templates/layout.txt.tmpl", "templates/"+string(k)+".txt.tmpl")),
			html: htmltemplate.Must(htmltemplate.New("").ParseFS(templateFS, "templates/layout.html.tmpl", "templates/"+string(k)+".html.tmpl")),
		}
	}
}

// Rendered is a notice as mail: its subject and both bodies.
type Rendered struct {
	Subject, Text, HTML string
}

// Render renders a notice with its kind's templates.
func Render(n *campaign.Notice) (Rendered, error) {
	t, ok := byKind[n.Kind]
	if !ok {
		return Rendered{}, fmt.Errorf("notice kind %q has no template", n.Kind)
	}
	v := newView(n)
	var subj, text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Rendered{}, fmt.Errorf("render subject: %w", err)
	}
	if err := t.text.ExecuteTemplate(&text, "layout", v); err != nil {
		return Rendered{}, fmt.Errorf("render text: %w", err)
	}
	if err := t.html.ExecuteTemplate(&html, "layout", v); err != nil {
		return Rendered{}, fmt.Errorf("render html: %w", err)
	}
	return Rendered{Subject: headerText(subj.String(), 200), Text: text.String(), HTML: html.String()}, nil
}

// clean makes a collected value safe to show: control characters, line
// breaks and bidi overrides become visible escapes.
func clean(s string) string { return reports.TermText(s) }

// headerText is clean with no line break and at most max bytes (cut on a
// character boundary).
func headerText(s string, max int) string {
	s = clean(strings.Join(strings.Fields(s), " "))
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// view is what the templates see: every string already cleaned.
type view struct {
	Greeting, Reviewer          string
	CampaignName, Default       string
	CampaignID, ScanID          int64
	Deadline, Link, LinkExpires string
	Items, NewCount             int
	Identities                  []identityView
}

type identityView struct {
	ID                                  int
	Label, Provider, IdentityKind       string
	Scope, Deadline, Leaver, Role       string
	Owner, LastUse, Baseline, Drift     string
	Privileged, Conflict, EscalatedFrom string
	New, Justification                  bool
	Findings, Gaps                      []string
	Children                            []childView
}

type childView struct {
	ID                                            int
	Kind, Label, Status, LastUse, Drift, Baseline string
	Privileged                                    string
	Findings, Gaps                                []string
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func newView(n *campaign.Notice) view {
	v := view{Greeting: clean(n.To.Name), Reviewer: clean(n.To.Address), CampaignName: clean(n.Campaign.Name),
		CampaignID: n.Campaign.ID, ScanID: n.Campaign.ScanID, Deadline: day(n.Deadline),
		Link: n.Link, LinkExpires: n.LinkExpires.UTC().Format(time.RFC3339), Items: len(n.Items),
		Default: clean(string(n.Campaign.Policy.Unanswered))}
	if v.Greeting == "" {
		v.Greeting = v.Reviewer
	}
	if v.CampaignName == "" {
		v.CampaignName = fmt.Sprintf("campaign %d", n.Campaign.ID)
	}
	if v.Default == "" {
		v.Default = string(campaign.DefaultNone)
	}
	var cur *identityView
	for i := range n.Items {
		it := &n.Items[i]
		if it.ParentID == 0 {
			v.Identities = append(v.Identities, identity(n, it))
			cur = &v.Identities[len(v.Identities)-1]
			if cur.New {
				v.NewCount++
			}
			continue
		}
		if cur != nil && cur.ID == it.ParentID {
			cur.Children = append(cur.Children, child(it))
		}
	}
	return v
}

func identity(n *campaign.Notice, it *campaign.Item) identityView {
	c := &it.Context
	iv := identityView{ID: it.ID, Label: clean(it.IdentityName), Provider: clean(string(it.Provider)),
		IdentityKind: clean(string(it.IdentityKind)), Scope: clean(it.Scope), Deadline: day(it.Deadline),
		Role: "none (unmapped)", Owner: owner(c), LastUse: lastUse(c.LastUse), Baseline: clean(c.Baseline),
		Drift: clean(c.Drift), Conflict: clean(it.Conflict), New: n.New[it.ID], Justification: c.RequiresJustification,
		Findings: findings(c.Findings), Gaps: cleanAll(c.Gaps)}
	if iv.Label == "" {
		iv.Label = clean(it.IdentityID)
	}
	if from, ok := n.Escalated[it.ID]; ok {
		iv.EscalatedFrom = clean(from)
		if iv.EscalatedFrom == "" {
			iv.EscalatedFrom = "its reviewer"
		}
	}
	if c.Role != "" {
		iv.Role = clean(c.Role)
		if c.Purpose != "" {
			iv.Role += ": " + clean(c.Purpose)
		}
	}
	if c.Privileged {
		iv.Privileged = clean(c.PrivilegedReason)
	}
	if l := c.Leaver; l != nil {
		iv.Leaver = clean(l.Person)
		if !l.Departed.IsZero() {
			iv.Leaver += " left on " + day(l.Departed)
		}
		if l.CredentialsToRotate > 0 {
			iv.Leaver += fmt.Sprintf("; rotate %d credential(s) they may hold", l.CredentialsToRotate)
		}
		iv.Leaver += "; reassign it to its new owner, or revoke it"
	}
	return iv
}

func child(it *campaign.Item) childView {
	c := &it.Context
	cv := childView{ID: it.ID, Kind: string(it.Kind), Status: clean(c.Status), LastUse: lastUse(c.LastUse),
		Drift: clean(c.Drift), Findings: findings(c.Findings), Gaps: cleanAll(c.Gaps)}
	switch it.Kind {
	case campaign.KindCredential:
		cv.Label = clean(string(it.CredentialType)) + " " + clean(it.CredentialID)
		if it.CredentialName != "" && it.CredentialName != it.CredentialID {
			cv.Label += " (" + clean(it.CredentialName) + ")"
		}
		if !c.Expires.IsZero() {
			cv.Status = strings.TrimPrefix(cv.Status+", expires "+day(c.Expires), ", ")
		}
	case campaign.KindGrant:
		cv.Label = clean(it.Entitlement) + " on " + clean(it.GrantScope)
		cv.Baseline = clean(c.Baseline)
		cv.LastUse = "per identity"
		if c.Privileged {
			cv.Privileged = clean(c.PrivilegedReason)
		}
	}
	return cv
}

func owner(c *campaign.Context) string {
	if c.Owner == "" {
		return "none"
	}
	s := clean(c.Owner) + " (" + clean(c.OwnerStatus)
	if c.OwnerSource != "" {
		s += ", from " + clean(c.OwnerSource)
	}
	s += ")"
	if c.TechnicalOwner != "" {
		s += "; technical owner " + clean(c.TechnicalOwner)
	}
	return s
}

// lastUse says when something was last used, from which source and how
// fresh the source is, or why that is unknown.
func lastUse(u campaign.LastUse) string {
	src := func() string {
		var parts []string
		if u.Source != "" {
			parts = append(parts, clean(u.Source))
		}
		if !u.AsOf.IsZero() {
			parts = append(parts, "as of "+u.AsOf.UTC().Format(time.RFC3339))
		}
		if len(parts) == 0 {
			return ""
		}
		return " (" + strings.Join(parts, ", ") + ")"
	}
	switch {
	case u.Gap != "":
		return "unknown: " + clean(u.Gap)
	case u.State == nhi.UsageUsed:
		return day(u.At) + src()
	case u.State == nhi.UsageNeverUsed:
		return "never used" + src()
	case u.State == nhi.UsageNotReported:
		s := "not reported by the provider"
		if u.Reason != "" {
			s += ": " + clean(u.Reason)
		}
		return s
	}
	s := "unknown"
	if u.Reason != "" {
		s += ": " + clean(u.Reason)
	}
	return s + src()
}

func findings(fs []campaign.FindingRef) []string {
	var out []string
	for _, f := range fs {
		s := clean(string(f.Severity)) + " " + clean(f.RuleID) + ": " + clean(f.Title)
		if ev := evidence(f.Evidence); ev != "" {
			s += " (" + ev + ")"
		}
		if f.Exception != "" {
			s += " [suppressed by " + clean(f.Exception) + "]"
		}
		out = append(out, s)
	}
	return out
}

func evidence(ev map[string]string) string {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, clean(k)+"="+clean(ev[k]))
	}
	return strings.Join(parts, ", ")
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}
