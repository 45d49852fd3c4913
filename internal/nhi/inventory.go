package nhi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// SchemaVersion is the version of the JSON inventory format this package
// reads and writes. Readers refuse other versions.
const SchemaVersion = 1

// Inventory is what one scan collected: identities with their credentials,
// grants and usage, the scopes covered, and the gaps.
type Inventory struct {
	Version     int       `json:"version"`
	CollectedAt time.Time `json:"collected_at"`
	// Scopes lists every scope the scan attempted, complete or not.
	Scopes     []Scope    `json:"scopes"`
	Identities []Identity `json:"identities"`
	Gaps       []Gap      `json:"gaps,omitempty"`
}

// MakeID builds an identity id from a provider and its immutable id. Parts
// after the first are joined with ":" (for example MakeID(GitHub,
// "deploy-key", "123")).
func MakeID(p Provider, parts ...string) string {
	return string(p) + ":" + strings.Join(parts, ":")
}

// Merge combines inventories from several collectors into one. CollectedAt
// is the earliest non-zero time. The result is normalised; the inputs are
// left as they were.
func Merge(invs ...Inventory) Inventory {
	out := Inventory{Version: SchemaVersion}
	for _, inv := range invs {
		if out.CollectedAt.IsZero() || (!inv.CollectedAt.IsZero() && inv.CollectedAt.Before(out.CollectedAt)) {
			out.CollectedAt = inv.CollectedAt
		}
		out.Scopes = append(out.Scopes, inv.Scopes...)
		out.Identities = append(out.Identities, inv.Identities...)
		out.Gaps = append(out.Gaps, inv.Gaps...)
	}
	for i := range out.Identities {
		out.Identities[i].cloneLists()
	}
	out.Normalize()
	return out
}

// Clone returns a copy of the inventory that shares no slice with it, so
// that normalising or editing the copy leaves the original untouched. Maps
// (tags, attributes) are shared: nothing in this package writes to them.
func (inv Inventory) Clone() Inventory {
	inv.Scopes = slices.Clone(inv.Scopes)
	for i := range inv.Scopes {
		inv.Scopes[i].Facets = slices.Clone(inv.Scopes[i].Facets)
	}
	inv.Gaps = slices.Clone(inv.Gaps)
	for i := range inv.Gaps {
		inv.Gaps[i].Facets = slices.Clone(inv.Gaps[i].Facets)
	}
	inv.Identities = slices.Clone(inv.Identities)
	for i := range inv.Identities {
		inv.Identities[i].cloneLists()
	}
	return inv
}

// cloneLists gives the identity its own copies of the lists Normalize sorts.
func (id *Identity) cloneLists() {
	id.Credentials = slices.Clone(id.Credentials)
	for i := range id.Credentials {
		id.Credentials[i].Signals = slices.Clone(id.Credentials[i].Signals)
	}
	id.Grants = slices.Clone(id.Grants)
	for i := range id.Grants {
		if u := id.Grants[i].Use; u != nil {
			c := *u
			c.Services = slices.Clone(u.Services)
			c.Used = slices.Clone(u.Used)
			id.Grants[i].Use = &c
		}
		if r := id.Grants[i].Recommendation; r != nil {
			c := *r
			c.Replace = slices.Clone(r.Replace)
			id.Grants[i].Recommendation = &c
		}
	}
	id.OwnerHints = slices.Clone(id.OwnerHints)
	id.Signals = slices.Clone(id.Signals)
}

// Normalize sorts every list by its stable key and converts times to UTC, so
// that equal inventories encode to equal bytes.
func (inv *Inventory) Normalize() {
	if inv.Version == 0 {
		inv.Version = SchemaVersion
	}
	inv.CollectedAt = utc(inv.CollectedAt)
	sort.SliceStable(inv.Scopes, func(i, j int) bool {
		a, b := inv.Scopes[i], inv.Scopes[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.ID < b.ID
	})
	inv.Scopes = dedupeScopes(inv.Scopes)
	for i := range inv.Scopes {
		inv.Scopes[i].Facets = sortFacets(inv.Scopes[i].Facets)
	}
	for i := range inv.Gaps {
		inv.Gaps[i].Facets = sortFacets(inv.Gaps[i].Facets)
	}
	for i := range inv.Identities {
		inv.Identities[i].normalize()
	}
	sort.SliceStable(inv.Identities, func(i, j int) bool { return inv.Identities[i].ID < inv.Identities[j].ID })
	sort.SliceStable(inv.Gaps, func(i, j int) bool {
		a, b := inv.Gaps[i], inv.Gaps[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Detail != b.Detail {
			return a.Detail < b.Detail
		}
		return slices.Compare(a.Facets, b.Facets) < 0
	})
}

func sortFacets(fs []Facet) []Facet {
	if len(fs) == 0 {
		return nil
	}
	fs = slices.Clone(fs)
	slices.Sort(fs)
	return slices.Compact(fs)
}

// dedupeScopes joins repeated scopes (two collectors, or two phases of
// one, reporting the same scope): the first name wins and the facets are
// the union.
func dedupeScopes(s []Scope) []Scope {
	out := s[:0]
	for i, sc := range s {
		if i > 0 && sc.Provider == out[len(out)-1].Provider && sc.ID == out[len(out)-1].ID {
			last := &out[len(out)-1]
			if last.Name == "" {
				last.Name = sc.Name
			}
			if len(last.Facets) > 0 && len(sc.Facets) > 0 {
				last.Facets = append(slices.Clip(last.Facets), sc.Facets...)
			} else {
				last.Facets = nil // one side read everything
			}
			continue
		}
		out = append(out, sc)
	}
	return out
}

func (id *Identity) normalize() {
	id.Created = utc(id.Created)
	id.Usage.normalize()
	for i := range id.Credentials {
		c := &id.Credentials[i]
		c.Created, c.Expires = utc(c.Created), utc(c.Expires)
		c.Usage.normalize()
		sortSignals(c.Signals)
	}
	sort.SliceStable(id.Credentials, func(i, j int) bool { return id.Credentials[i].ID < id.Credentials[j].ID })
	for i := range id.Grants {
		id.Grants[i].Created = utc(id.Grants[i].Created)
		id.Grants[i].FirstSeen = utc(id.Grants[i].FirstSeen)
		id.Grants[i].Use.normalize()
		if r := id.Grants[i].Recommendation; r != nil {
			r.AsOf = utc(r.AsOf)
			slices.Sort(r.Replace)
		}
	}
	sort.SliceStable(id.Grants, func(i, j int) bool { return id.Grants[i].ID < id.Grants[j].ID })
	sort.SliceStable(id.OwnerHints, func(i, j int) bool {
		a, b := id.OwnerHints[i], id.OwnerHints[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Value < b.Value
	})
	sortSignals(id.Signals)
}

func sortSignals(s []Signal) {
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Code != s[j].Code {
			return s[i].Code < s[j].Code
		}
		return s[i].Detail < s[j].Detail
	})
}

func (u *GrantUse) normalize() {
	if u == nil {
		return
	}
	u.WindowStart, u.WindowEnd, u.LastUsed = utc(u.WindowStart), utc(u.WindowEnd), utc(u.LastUsed)
	for i := range u.Services {
		u.Services[i].LastUsed = utc(u.Services[i].LastUsed)
		slices.Sort(u.Services[i].Actions)
	}
	sort.SliceStable(u.Services, func(i, j int) bool { return u.Services[i].Service < u.Services[j].Service })
	slices.Sort(u.Used)
}

func (u *Usage) normalize() {
	u.LastUsed, u.AsOf = utc(u.LastUsed), utc(u.AsOf)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Validate checks the invariants every producer of an inventory must keep.
// It reports all problems at once.
func (inv *Inventory) Validate() error {
	var p problems
	if inv.Version != SchemaVersion {
		p.add("version %d: this nhiscan reads version %d", inv.Version, SchemaVersion)
	}
	facets := make(map[scopeKey][]Facet, len(inv.Scopes))
	for _, sc := range inv.Scopes {
		facets[scopeKey{sc.Provider, sc.ID}] = sc.Facets
	}
	seen := map[string]bool{}
	for i, id := range inv.Identities {
		where := fmt.Sprintf("identities[%d] (%s)", i, id.ID)
		switch {
		case id.ID == "":
			p.add("identities[%d]: id is empty", i)
		case seen[id.ID]:
			p.add("%s: duplicate id", where)
		}
		seen[id.ID] = true
		p.identity(where, id, facets)
		p.credentials(where, id.Credentials)
		p.grants(where, id.Grants)
	}
	p.scopesAndGaps(inv)
	return errors.Join(p...)
}

// problems collects what Validate finds.
type problems []error

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Errorf(format, a...)) }

// identity checks an identity's own fields: provider, kind, native id,
// scope (listed, with the facet its identities come from), status, usage.
// facets holds each listed scope's facets.
func (p *problems) identity(where string, id Identity, facets map[scopeKey][]Facet) {
	if !id.Provider.Valid() {
		p.add("%s: unknown provider %q", where, id.Provider)
	} else if !strings.HasPrefix(id.ID, string(id.Provider)+":") {
		p.add("%s: id must start with %q", where, string(id.Provider)+":")
	}
	if k, ok := IdentityKinds[id.Kind]; !ok {
		p.add("%s: unknown kind %q", where, id.Kind)
	} else if k != id.Provider {
		p.add("%s: kind %q belongs to provider %q", where, id.Kind, k)
	}
	if id.NativeID == "" {
		p.add("%s: native_id is empty", where)
	}
	fs, listed := facets[scopeKey{id.Provider, id.Scope}]
	switch {
	case id.Scope == "":
		p.add("%s: scope is empty", where)
	case !listed:
		p.add("%s: scope %q is not listed in scopes", where, id.Scope)
	case len(fs) > 0 && !overlapsAny(fs, IdentitiesFacet(id.Kind)):
		// Every finding on it would be dropped as unobserved.
		p.add("%s: scope %q does not list the facet %s its identities come from", where, id.Scope, IdentitiesFacet(id.Kind))
	}
	if !validStatus(id.Status) {
		p.add("%s: unknown status %q", where, id.Status)
	}
	if err := id.Usage.validate(); err != nil {
		p.add("%s: usage: %v", where, err)
	}
}

// credentials checks an identity's credentials: unique ids, known types
// and statuses, usage.
func (p *problems) credentials(where string, cs []Credential) {
	ids := map[string]bool{}
	for _, c := range cs {
		if c.ID == "" || ids[c.ID] {
			p.add("%s: credential id %q empty or duplicate", where, c.ID)
		}
		ids[c.ID] = true
		if _, ok := CredentialTypes[c.Type]; !ok {
			p.add("%s: credential %s: unknown type %q", where, c.ID, c.Type)
		}
		if !validStatus(c.Status) {
			p.add("%s: credential %s: unknown status %q", where, c.ID, c.Status)
		}
		if err := c.Usage.validate(); err != nil {
			p.add("%s: credential %s: usage: %v", where, c.ID, err)
		}
	}
}

// grants checks an identity's grants: unique ids, an entitlement, a known
// privilege.
func (p *problems) grants(where string, gs []Grant) {
	ids := map[string]bool{}
	for _, g := range gs {
		if g.ID == "" || ids[g.ID] {
			p.add("%s: grant id %q empty or duplicate", where, g.ID)
		}
		ids[g.ID] = true
		if g.Entitlement == "" {
			p.add("%s: grant %s: entitlement is empty", where, g.ID)
		}
		switch g.Privilege {
		case PrivRead, PrivWrite, PrivAdmin:
		default:
			p.add("%s: grant %s: unknown privilege %q", where, g.ID, g.Privilege)
		}
		if err := g.Use.validate(); err != nil {
			p.add("%s: grant %s: use: %v", where, g.ID, err)
		}
		if err := g.Recommendation.validate(); err != nil {
			p.add("%s: grant %s: recommendation: %v", where, g.ID, err)
		}
	}
}

func (u *GrantUse) validate() error {
	if u == nil {
		return nil
	}
	if u.Source == "" {
		return errors.New("source is empty")
	}
	switch u.State {
	case UsageUsed:
		if u.LastUsed.IsZero() {
			return errors.New(`state "used" needs last_used`)
		}
	case UsageNeverUsed, UsageUnknown:
		if !u.LastUsed.IsZero() {
			return fmt.Errorf("state %q must not carry last_used", u.State)
		}
	default:
		return fmt.Errorf("unknown state %q (used, never-used or unknown)", u.State)
	}
	if !u.WindowStart.IsZero() && !u.WindowEnd.IsZero() && u.WindowEnd.Before(u.WindowStart) {
		return errors.New("window_end is before window_start")
	}
	return nil
}

func (r *GrantRecommendation) validate() error {
	if r == nil {
		return nil
	}
	if r.Source == "" {
		return errors.New("source is empty")
	}
	if r.Name == "" {
		return errors.New("name is empty")
	}
	switch r.Action {
	case RecommendRemove:
		if len(r.Replace) > 0 {
			return errors.New(`action "remove" must not carry replace_with`)
		}
	case RecommendReplace:
		if len(r.Replace) == 0 {
			return errors.New(`action "replace" needs replace_with`)
		}
	default:
		return fmt.Errorf("unknown action %q (remove or replace)", r.Action)
	}
	return nil
}

// scopesAndGaps checks the facets scopes list and the gaps' providers,
// sources and facets.
func (p *problems) scopesAndGaps(inv *Inventory) {
	for i, sc := range inv.Scopes {
		for _, f := range sc.Facets {
			if !f.Valid() {
				p.add("scopes[%d] (%s %s): unknown facet %q", i, sc.Provider, sc.ID, f)
			}
		}
	}
	for i, g := range inv.Gaps {
		if !g.Provider.Valid() {
			p.add("gaps[%d]: unknown provider %q", i, g.Provider)
		}
		if g.Source == "" {
			p.add("gaps[%d]: source is empty", i)
		}
		for _, f := range g.Facets {
			if !f.Valid() {
				p.add("gaps[%d]: unknown facet %q", i, f)
			}
		}
	}
}

func validStatus(s Status) bool {
	switch s {
	case StatusActive, StatusDisabled, StatusSuspended, StatusExpired, StatusUnknown:
		return true
	}
	return false
}

func (u Usage) validate() error {
	switch u.State {
	case UsageUsed:
		if u.LastUsed.IsZero() {
			return errors.New(`state "used" needs last_used`)
		}
	case UsageNeverUsed, UsageNotReported, UsageUnknown:
		if !u.LastUsed.IsZero() {
			return fmt.Errorf("state %q must not carry last_used", u.State)
		}
	default:
		return fmt.Errorf("unknown state %q", u.State)
	}
	return nil
}

// Partial reports whether the inventory has a gap that covers the given
// provider and scope (a provider-wide gap covers every scope): some facet
// of the scope was not observed. Every gap counts, one that hides usage
// only included; what each gap hides is for Coverage to say.
func (inv *Inventory) Partial(p Provider, scope string) bool {
	for _, g := range inv.Gaps {
		if g.Provider == p && (g.Scope == "" || g.Scope == scope) {
			return true
		}
	}
	return false
}

// Identity returns the identity with the given id.
func (inv *Inventory) Identity(id string) (*Identity, bool) {
	i := sort.Search(len(inv.Identities), func(i int) bool { return inv.Identities[i].ID >= id })
	if i < len(inv.Identities) && inv.Identities[i].ID == id {
		return &inv.Identities[i], true
	}
	for i := range inv.Identities { // not normalised
		if inv.Identities[i].ID == id {
			return &inv.Identities[i], true
		}
	}
	return nil, false
}

// Credential returns the credential with the given id.
func (id *Identity) Credential(credID string) (*Credential, bool) {
	for i := range id.Credentials {
		if id.Credentials[i].ID == credID {
			return &id.Credentials[i], true
		}
	}
	return nil, false
}

// Active reports whether the identity is enabled.
func (id *Identity) Active() bool { return id.Status == StatusActive }

// Encode writes the inventory in its documented JSON form, normalised and
// indented, so the bytes are a stable function of the content. It
// normalises a copy: the caller's inventory is neither sorted nor changed,
// so concurrent Encode or Hash calls on one inventory are safe.
//
// An empty list of scopes or identities is written as null whether it is
// nil or empty, as every stored snapshot has always had it: the bytes, and
// so the recorded hash, depend on the content only.
func Encode(w io.Writer, inv Inventory) error {
	inv = inv.Clone()
	inv.Normalize()
	if len(inv.Scopes) == 0 {
		inv.Scopes = nil
	}
	ids := inv.Identities
	inv.Identities = nil
	// The document without its identities, then each identity in its place,
	// so a million identities' JSON is never held whole: the bytes are
	// those of the whole inventory indented at once (TestEncodeStreams).
	head, err := indentJSON(inv, "")
	if err != nil {
		return err
	}
	at := bytes.Index(head, []byte(identitiesNull))
	if at < 0 || len(ids) == 0 {
		return writeSafe(w, append(head, '\n'))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := writeSafe(bw, head[:at+len(identitiesNull)-len("null")]); err != nil {
		return err
	}
	bw.WriteString("[\n")
	for i := range ids {
		b, err := indentJSON(&ids[i], "    ")
		if err != nil {
			return err
		}
		bw.WriteString("    ")
		if err := writeSafe(bw, b); err != nil {
			return err
		}
		if i < len(ids)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("  ]")
	if err := writeSafe(bw, append(head[at+len(identitiesNull):], '\n')); err != nil {
		return err
	}
	return bw.Flush()
}

// identitiesNull is how the inventory without identities names them.
const identitiesNull = `"identities": null`

// indentJSON is v's JSON indented by two spaces under prefix, without
// HTML escapes and without the encoder's trailing newline.
func indentJSON(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeSafe writes JSON with C1 controls, DEL and bidi overrides as \u
// escapes: the same strings when read back, never raw in the file (a
// snapshot.json opened in a terminal or editor cannot be re-ordered or
// drive it). b starts and ends outside a string.
func writeSafe(w io.Writer, b []byte) error {
	_, err := w.Write(textsafe.JSON(b))
	return err
}

// Hash returns the SHA-256 of the inventory's canonical JSON form, hex.
func (inv Inventory) Hash() string {
	var b bytes.Buffer
	_ = Encode(&b, inv)
	return sha256Hex(b.Bytes())
}

type scopeKey struct {
	p  Provider
	id string
}
