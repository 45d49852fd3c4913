// Package analyzer compares an inventory with the owned-role catalog and
// returns findings. It is pure: no I/O, no clock, no logging. The evaluation
// time is an input, so an audit can evaluate "as of" any date, including a
// future one to forecast what will be overdue.
//
// Rules run in families, one file each (see rules.Builtin for ids, docs,
// controls and the facets each reads): orphaned and owner-moved
// (orphaned.go), dormant (dormant.go), over-privileged (overprivileged.go),
// long-lived (longlived.go), unmapped (unmapped.go), drift (drift.go) and
// risky-config (riskyconfig.go). Exceptions (exceptions.go) mark findings
// suppressed; they never drop them.
//
// Only what was observed changes a verdict. Every finding records the
// facets of its scope it rests on, and is created only where the scan
// observed all of them (facets.go). Lifecycle (lifecycle.go) moves stored
// findings: one is resolved only where a scan observed every facet it
// recorded, and otherwise kept, marked not re-evaluated, with the gap.
package analyzer

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Input is everything one analysis needs.
type Input struct {
	Inventory nhi.Inventory
	Catalog   *catalog.Catalog
	// Previous is the previous scan's inventory; nil on the first scan.
	Previous *nhi.Inventory
	// Certified is the last certified state; nil when never certified.
	Certified *nhi.Certification
	// Now is the evaluation time.
	Now time.Time
}

// Result is the outcome of an analysis.
type Result struct {
	// Findings sorted by provider, scope, identity, rule, credential, grant.
	Findings []nhi.Finding
	// Ownership of every identity in the inventory, by identity id.
	Ownership map[string]nhi.Ownership
	// ExpiredExceptions lists exceptions that matched a finding but had
	// expired at the evaluation time (so they no longer suppress), by id.
	ExpiredExceptions []ExpiredException
	// Unevaluated holds, by fingerprint, the findings this analysis could
	// not evaluate although their facets were observed: the rules that
	// rest on usage, for an identity or credential whose usage is now
	// unknown. A prior finding among them is kept, not resolved
	// (Result.Lifecycle).
	Unevaluated map[string]nhi.Hidden
}

// ExpiredException records an exception that stopped suppressing.
type ExpiredException struct {
	ID      string
	Rule    string
	Expires time.Time
	// Findings counts the findings it would have suppressed.
	Findings int
}

// Analyze runs every rule over the input.
func Analyze(in Input) Result {
	cat := in.Catalog
	if cat == nil {
		cat = &catalog.Catalog{}
	}
	a := newAnalysis(cat, in.Now)
	a.cur, a.prev = newObserver(&in.Inventory), newObserver(in.Previous)
	ids := in.Inventory.Identities
	res := Result{Ownership: make(map[string]nhi.Ownership, len(ids))}
	var d *driftState
	if in.Previous != nil {
		d = newDriftState(&in.Inventory, in.Previous)
		a.prevByID, a.prevAt = d.prevByID, in.Previous.CollectedAt
	}
	for i := range ids {
		id := &ids[i]
		s := a.resolve(id)
		res.Ownership[id.ID] = s.own
		if len(id.Tags) > 0 {
			a.tags[id.ID] = id.Tags
		}
		a.identityRules(id, s)
		if d != nil {
			a.drift(d, id, &s)
		}
		if in.Certified != nil {
			a.sinceCertification(id, &s, in.Certified)
		}
		a.flush()
	}
	var removed []nhi.Finding
	if d != nil {
		a.removed(d)
		removed = a.scratch
		sortScratch(removed)
		a.scratch = nil
	}
	res.ExpiredExceptions = a.applyExceptions(append(a.findings, removed))
	res.Unevaluated = a.unevaluated
	identityOrder := slices.IsSortedFunc(ids, func(x, y nhi.Identity) int { return cmp.Compare(x.ID, y.ID) })
	res.Findings = assemble(a.findings, removed, identityOrder)
	return res
}

// subject carries what every rule on one identity needs.
type subject struct {
	role    *catalog.Role // nil when unmapped
	roleIdx int           // index of role in the catalog, -1 when unmapped
	own     nhi.Ownership
	person  *nhi.Person // the resolved owner, when a known person
	// managed: provider-managed identities are inventoried but not held to
	// role rules.
	managed bool
}

type analysis struct {
	cat      *catalog.Catalog
	now      time.Time
	def      catalog.Defaults
	index    *roleIndex
	people   *peopleIndex
	baseline map[baselineKey]allowance
	// findings are kept in fixed-size chunks: appending to one large slice
	// copied every finding several times over at 100k identities.
	findings [][]nhi.Finding
	scratch  []nhi.Finding                // the current identity's findings
	tags     map[string]map[string]string // identity id -> tags, for exceptions
	// cur and prev say what this scan and the previous one (nil on a
	// first scan) observed; facets interns the findings' facet lists.
	cur, prev *observer
	facets    map[facetKey][]nhi.Facet
	// unevaluated: see Result.Unevaluated.
	unevaluated map[string]nhi.Hidden
	// prevByID and prevAt are the previous scan's identities and time
	// (nil and zero on a first scan): when a grant without a creation
	// time was first seen (unused.go).
	prevByID map[string]*nhi.Identity
	prevAt   time.Time
}

type baselineKey struct {
	role        int
	provider    nhi.Provider
	entitlement string
	scope       string
}

type allowance struct{ allowed, privileged bool }

func newAnalysis(cat *catalog.Catalog, now time.Time) *analysis {
	return &analysis{
		cat:      cat,
		now:      now.UTC(),
		def:      withDefaults(cat.Defaults),
		index:    newRoleIndex(cat.Roles),
		people:   newPeopleIndex(cat.People),
		baseline: map[baselineKey]allowance{},
		tags:     map[string]map[string]string{},
		facets:   map[facetKey][]nhi.Facet{},
	}
}

func withDefaults(d catalog.Defaults) catalog.Defaults {
	def := catalog.DefaultDefaults
	set := func(v *time.Duration, dv time.Duration) {
		if *v <= 0 {
			*v = dv
		}
	}
	set(&d.DormantAfter, def.DormantAfter)
	set(&d.MaxCredentialAge, def.MaxCredentialAge)
	set(&d.NeverUsedGrace, def.NeverUsedGrace)
	set(&d.ExpiringSoon, def.ExpiringSoon)
	set(&d.UsageFreshness, def.UsageFreshness)
	set(&d.MaxExceptionDuration, def.MaxExceptionDuration)
	set(&d.UnusedWindow, def.UnusedWindow)
	set(&d.UnusedGrantGrace, def.UnusedGrantGrace)
	if len(d.OwnerTagKeys) == 0 {
		d.OwnerTagKeys = def.OwnerTagKeys
	}
	return d
}

// emit records a finding of rule for the identity, about the credential or
// grant o names, unless a facet the finding rests on was not observed (see
// judged): a finding is created only from observed data.
func (a *analysis) emit(ruleID string, id *nhi.Identity, s *subject, o on, ev map[string]string) {
	r, ok := rules.Lookup(ruleID)
	if !ok {
		panic("analyzer: unknown rule " + ruleID) // a programming error, caught by tests
	}
	facets := a.facetsOf(&r, id, o)
	if !a.judged(&r, id.Provider, id.Scope, facets) {
		return
	}
	sev := r.Severity
	if o, ok := a.def.Severity[ruleID]; ok {
		sev = o
	}
	var credID, grantID string
	if o.cred != nil {
		credID = o.cred.ID
	}
	if o.grant != nil {
		grantID = o.grant.ID
	}
	f := nhi.Finding{
		Fingerprint:  nhi.Fingerprint(ruleID, id.ID, credID, grantID),
		RuleID:       ruleID,
		Family:       r.Family,
		Severity:     sev,
		Title:        r.Title,
		Provider:     id.Provider,
		Scope:        id.Scope,
		IdentityID:   id.ID,
		IdentityName: id.Name,
		IdentityKind: id.Kind,
		CredentialID: credID,
		GrantID:      grantID,
		Evidence:     ev,
		Remediation:  r.Remediation,
		Controls:     r.Controls,
		Facets:       facets,
	}
	if s != nil {
		f.RoleID = s.own.RoleID
		f.Owner = s.own.Owner
		f.OwnerSource = s.own.OwnerSource
	}
	a.scratch = append(a.scratch, f)
}

// flush sorts the current identity's findings by rule, credential and
// grant and moves them to the chunked result. Identities are analysed in
// id order (inventories are normalised), so the result comes out sorted
// without a global sort of large structs.
func (a *analysis) flush() {
	sortScratch(a.scratch)
	for _, f := range a.scratch {
		if n := len(a.findings); n == 0 || len(a.findings[n-1]) == cap(a.findings[n-1]) {
			a.findings = append(a.findings, make([]nhi.Finding, 0, chunkSize))
		}
		last := &a.findings[len(a.findings)-1]
		*last = append(*last, f)
	}
	clear(a.scratch)
	a.scratch = a.scratch[:0]
}

const chunkSize = 4096

func (a *analysis) identityRules(id *nhi.Identity, s subject) {
	if !s.managed {
		a.ownerRules(id, &s)
		a.unmappedRules(id, &s)
	}
	a.usageRules(id, &s)
	a.grantRules(id, &s)
	a.unusedRules(id, &s)
	a.credentialRules(id, &s)
	a.signalRules(id, &s)
}

// compareFindings orders findings by identity id (which starts with the
// provider), rule, credential and grant.
func compareFindings(a, b *nhi.Finding) int {
	if c := cmp.Compare(a.IdentityID, b.IdentityID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.RuleID, b.RuleID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.CredentialID, b.CredentialID); c != 0 {
		return c
	}
	return cmp.Compare(a.GrantID, b.GrantID)
}

func sortScratch(fs []nhi.Finding) {
	if len(fs) > 1 {
		slices.SortFunc(fs, func(x, y nhi.Finding) int { return compareFindings(&x, &y) })
	}
}

// assemble joins the per-identity chunks (sorted when the identities were
// in id order) with the sorted findings about removed identities. When the
// input was not in id order it falls back to sorting indices, so the output
// order never depends on the input order.
func assemble(chunks [][]nhi.Finding, removed []nhi.Finding, sorted bool) []nhi.Finding {
	n := len(removed)
	for _, c := range chunks {
		n += len(c)
	}
	out := make([]nhi.Finding, 0, n)
	if !sorted {
		idx := make([]int32, 0, n-len(removed))
		for i := range n - len(removed) {
			idx = append(idx, int32(i))
		}
		at := func(i int32) *nhi.Finding { return &chunks[i/chunkSize][i%chunkSize] }
		slices.SortFunc(idx, func(i, j int32) int { return compareFindings(at(i), at(j)) })
		for _, i := range idx {
			out = append(out, *at(i))
		}
		chunks = [][]nhi.Finding{out}
		out = make([]nhi.Finding, 0, n)
	}
	r := 0
	for _, c := range chunks {
		for i := range c {
			for r < len(removed) && compareFindings(&removed[r], &c[i]) < 0 {
				out = append(out, removed[r])
				r++
			}
			out = append(out, c[i])
		}
	}
	return append(out, removed[r:]...)
}

// credActive reports whether a credential can authenticate at the
// evaluation time: enabled and not past its expiry. An inventory evaluated
// at a later date than it was collected (to forecast what will be overdue)
// holds credentials that will have expired by then; those are contained,
// neither dormant nor too old.
func (a *analysis) credActive(c *nhi.Credential) bool {
	return c.Status == nhi.StatusActive && (c.Expires.IsZero() || c.Expires.After(a.now))
}

func itoa(n int) string { return strconv.Itoa(n) }

// days formats a duration in whole days.
func days(d time.Duration) string {
	return strconv.Itoa(int(d / duration.Day))
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
