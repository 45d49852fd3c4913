package suggest

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

// maxListed caps the identities a draft lists by name in a comment.
const maxListed = 50

// WriteYAML writes the draft as a catalog file. Every value is a
// double-quoted YAML string; every collected value in a comment is
// ASCII-quoted, so no name can end a comment or inject YAML.
func (d *Draft) WriteYAML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	y := &yamlWriter{w: bw}
	d.header(y)
	if len(d.PeopleFiles) > 0 {
		y.line(0, "people_files: [%s]", strings.Join(mapStrings(d.PeopleFiles, quote), ", "))
		y.blank()
	}
	if d.DefinePlaceholder {
		y.line(0, "people:")
		y.line(2, "# TODO: the placeholder owner of every role whose members' owner hints did not agree.")
		y.line(2, "# It has departed, so their identities report as orphaned until you name the real owner;")
		y.line(2, "# delete it once no role names it.")
		y.line(2, "- { id: %s, name: %s, status: departed, departed: %s }", quote(Placeholder), quote("TODO placeholder: no accountable owner decided yet"), PlaceholderDeparted)
		y.blank()
	}
	if len(d.Roles) == 0 {
		y.line(0, "roles: []")
	} else {
		y.line(0, "roles:")
	}
	for i := range d.Roles {
		d.Roles[i].write(y)
	}
	d.trailer(y)
	if y.err != nil {
		return y.err
	}
	return bw.Flush()
}

type yamlWriter struct {
	w   *bufio.Writer
	err error
}

func (y *yamlWriter) line(indent int, format string, args ...any) {
	if y.err != nil {
		return
	}
	_, y.err = fmt.Fprintf(y.w, "%s%s\n", strings.Repeat(" ", indent), fmt.Sprintf(format, args...))
}

func (y *yamlWriter) blank() { y.line(0, "") }

func (d *Draft) header(y *yamlWriter) {
	if d.Merge {
		y.line(0, "# nhiscan catalog draft: proposed additions to an existing catalog. Load it together")
		y.line(0, "# with that catalog (it names its people); it maps only identities the catalog leaves unmapped.")
	} else {
		y.line(0, "# nhiscan catalog draft: proposed owned roles, for a human to review.")
	}
	if d.Source != "" {
		y.line(0, "# Drafted by 'nhiscan catalog suggest' from %s.", ascii(d.Source))
	}
	covered := d.Covered()
	y.line(0, "# %d identities considered (%d already mapped by the catalog and %d provider-managed left out);",
		d.Considered, d.AlreadyMapped, d.ProviderManaged)
	y.line(0, "# %d roles proposed, mapping %d of them (%s); %d left unassigned (listed at the end).",
		len(d.Roles), covered, pctText(covered, d.Considered), len(d.Unassigned))
	y.line(0, "#")
	y.line(0, "# It loads as it is (nhiscan catalog validate), and allows nothing a human has not seen:")
	y.line(0, "#   - every TODO marks a decision for a human;")
	y.line(0, "#   - privileged grants, and grants few members hold, are commented out: uncomment only what")
	y.line(0, "#     the role needs (a privileged one with privileged: true);")
	y.line(0, "#   - %s is a placeholder person who has departed: roles it owns", Placeholder)
	y.line(0, "#     report their identities as orphaned until you name the accountable owner;")
	y.line(0, "#   - each purpose is a TODO: say what the identities are for.")
	y.line(0, "# Confidence: high at 0.8 or more, medium at 0.6, else low. It weighs why members joined at 50%%")
	y.line(0, "# (role tag 1, name stem of tagged peers 0.9, name stem 0.8, sibling name stem 0.75, similar")
	y.line(0, "# grants 0.7, identical grants 0.6, same owner 0.4), grant cohesion at 30%% and owner agreement")
	y.line(0, "# at 20%%; a role of one member loses a fifth.")
	y.blank()
}

func (d *Draft) trailer(y *yamlWriter) {
	if len(d.Unassigned) == 0 {
		return
	}
	y.blank()
	y.line(0, "# Left unassigned: %d identities with no grouping evidence (no role tag, no shared name stem,", len(d.Unassigned))
	y.line(0, "# no grants like another's, no shared owner). They stay unmapped until a human places them:")
	for i, n := range d.Unassigned {
		if i == maxListed {
			y.line(0, "#   … and %d more", len(d.Unassigned)-maxListed)
			break
		}
		y.line(0, "#   %s", ascii(n))
	}
}

func (r *Role) write(y *yamlWriter) {
	y.blank()
	y.line(2, "# Role %s: grouped by %s; %d member(s) (%s).", r.ID, ascii(r.Why), len(r.Members), r.evidenceText())
	agree := "no owner hints"
	if r.OwnerAgreement >= 0 {
		agree = fmt.Sprintf("owner hints agree %.2f", r.OwnerAgreement)
	}
	cohesion := "grant cohesion not measurable (one member per provider)"
	if r.Cohesion >= 0 {
		cohesion = fmt.Sprintf("grant cohesion %.2f", r.Cohesion)
	}
	y.line(2, "# Confidence %s (%.2f): %s, %s.", r.Level, r.Confidence, cohesion, agree)
	y.line(2, "# Members include: %s.", strings.Join(mapStrings(r.Examples, ascii), ", "))
	if r.GrantsUnobserved > 0 {
		y.line(2, "# The grants of %d member(s) were not fully observed (a coverage gap): the baseline may lack what they hold.", r.GrantsUnobserved)
	}
	y.line(2, "- id: %s", quote(r.ID))
	y.line(4, "purpose: %s", quote("TODO: say what these identities are for (grouped by "+r.Why+")"))
	if r.BusinessOwner == Placeholder {
		y.line(4, "business_owner: %s  # TODO: name the accountable owner (hints: %s)", quote(r.BusinessOwner), ascii(r.OwnerHints))
	} else {
		y.line(4, "business_owner: %s  # most members' owner hints name this person (%s)", quote(r.BusinessOwner), ascii(r.OwnerHints))
	}
	if r.TechnicalOwner != "" && utf8.ValidString(r.TechnicalOwner) {
		y.line(4, "technical_owner: %s", quote(r.TechnicalOwner))
	}
	if r.Team != "" && utf8.ValidString(r.Team) {
		y.line(4, "team: %s", quote(r.Team))
	}
	r.writeBaseline(y)
	y.line(4, "members:")
	for _, s := range r.Selectors {
		y.line(6, "- %s", selectorYAML(s))
	}
}

func (r *Role) evidenceText() string {
	var parts []string
	for _, e := range []Evidence{ByTag, ByStemPeers, ByStem, BySiblingStem, ByGrants, BySameGrants, ByOwner} {
		if n := r.Evidence[e]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", e, n))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *Role) writeBaseline(y *yamlWriter) {
	allowed := slices.ContainsFunc(r.Baseline, func(a Allowance) bool { return a.Decision == Allow })
	if allowed {
		y.line(4, "allowed:")
	} else {
		y.line(4, "allowed: []")
	}
	for _, a := range r.Baseline {
		held := fmt.Sprintf("held by %d of %d %s member(s)", a.Holders, a.Of, a.Provider)
		if a.Scopes > 1 {
			held += fmt.Sprintf(", at %d scopes", a.Scopes)
		}
		if a.Decision != Allow && a.Decision != Unwritable && (!literal(a.Entitlement) || !literal(a.Scope)) {
			held += `; note "*" and "?" in it are wildcards`
		}
		switch a.Decision {
		case Allow:
			y.line(6, "- %s  # %s", entitlementYAML(a), held)
		case DecidePrivileged:
			y.line(6, "# TODO decide: privileged (%s), %s; allow it only if the role needs it:", ascii(a.Reason), held)
			y.line(6, "# - %s", entitlementYAML(a))
		case ReviewRare, ReviewGlob:
			y.line(6, "# TODO review: %s; allow it only if the role needs it:", held)
			y.line(6, "# - %s", entitlementYAML(a))
		case Unwritable:
			y.line(6, "# TODO write by hand: %s entitlement %s at scope %s, %s: it cannot be written as a catalog glob",
				a.Provider, ascii(a.Entitlement), ascii(a.Scope), held)
		}
	}
}

func entitlementYAML(a Allowance) string {
	parts := []string{"provider: " + quote(string(a.Provider)), "entitlement: " + quote(a.Entitlement)}
	if a.Scope != "" {
		parts = append(parts, "scope: "+quote(a.Scope))
	}
	if a.Decision == DecidePrivileged {
		parts = append(parts, "privileged: true")
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

func selectorYAML(s catalog.Selector) string {
	if s.ID != "" {
		return "{ id: " + quote(s.ID) + " }"
	}
	parts := []string{"provider: " + quote(string(s.Provider))}
	if s.Scope != "" {
		parts = append(parts, "scope: "+quote(s.Scope))
	}
	if s.Kind != "" {
		parts = append(parts, "kind: "+quote(string(s.Kind)))
	}
	if s.Name != "" {
		parts = append(parts, "name: "+quote(s.Name))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
		parts = append(parts, "tags: { "+quote(k)+": "+quote(s.Tags[k])+" }")
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// quote writes s as a YAML double-quoted scalar: backslash and quote
// escaped, and every control character, line or paragraph separator,
// next-line and byte-order mark as \uXXXX. s must be valid UTF-8.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ascii renders a collected value for a comment: quoted, ASCII only.
func ascii(s string) string { return strconv.QuoteToASCII(s) }

func mapStrings(ss []string, f func(string) string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

func pctText(n, d int) string {
	if d == 0 {
		return "0.0%"
	}
	return strconv.FormatFloat(100*float64(n)/float64(d), 'f', 1, 64) + "%"
}
