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
	"maps"
	"slices"
	"strconv"
	"sync"
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
	// Findings, when set, receives the findings in their final order, in
	// batches, instead of Result.Findings (which is then nil): a large
	// analysis hands each unit of identities' findings on as it is done and
	// holds none of them itself. A batch, and the evidence in it, are the
	// callee's only during the call (the analyzer reuses their memory):
	// copy what is kept. It is called from one goroutine at a time.
	Findings func([]nhi.Finding)
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

// Analyze runs every rule over the input. Identities are analysed in
// contiguous units, in order, by one worker per processor (units.go); the
// result does not depend on the number of workers (findings.go gathers and
// orders the findings). With Input.Findings set, each unit's findings are
// handed on as soon as the units before it have been.
func Analyze(in Input) Result {
	cat := in.Catalog
	if cat == nil {
		cat = &catalog.Catalog{}
	}
	base := newAnalysis(cat, in.Now)
	base.cur, base.prev = newObserver(&in.Inventory), newObserver(in.Previous)
	ids := in.Inventory.Identities
	r := &unitRun{ids: ids, owns: make([]nhi.Ownership, len(ids)), cert: in.Certified, units: unitsOf(len(ids))}
	if in.Previous != nil {
		r.d = newDriftState(&in.Inventory, in.Previous)
		base.driftSt, base.prevCollected = r.d, in.Previous.CollectedAt
	}
	rm := base.fork()
	if r.d != nil {
		rm.removed(r.d)
		sortPending(rm.scratch)
	}
	ws := base.workers(len(r.units))
	identityOrder := slices.IsSortedFunc(ids, func(x, y nhi.Identity) int { return cmp.Compare(x.ID, y.ID) })
	res := Result{Ownership: make(map[string]nhi.Ownership, len(ids))}
	if in.Findings != nil && identityOrder {
		r.own = res.Ownership // filled unit by unit, in turn
		res.ExpiredExceptions = base.stream(r, ws, rm.scratch, in.Findings)
		res.Unevaluated = mergeUnevaluated(append(ws, rm))
		return res
	}
	res.Findings, res.ExpiredExceptions = base.collect(r, ws, rm.scratch, identityOrder)
	if in.Findings != nil {
		handOn(res.Findings, in.Findings)
		res.Findings = nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.owned(0, len(ids), res.Ownership) })
	res.Unevaluated = mergeUnevaluated(append(ws, rm))
	wg.Wait()
	return res
}

// mergeUnevaluated merges the workers' unevaluated findings into the
// largest of their maps; nil when there are none.
func mergeUnevaluated(ws []*analysis) map[string]nhi.Hidden {
	big := -1
	for i, w := range ws {
		if len(w.unevaluated) > 0 && (big < 0 || len(w.unevaluated) > len(ws[big].unevaluated)) {
			big = i
		}
	}
	if big < 0 {
		return nil
	}
	out := ws[big].unevaluated
	for i, w := range ws {
		if i != big {
			maps.Copy(out, w.unevaluated)
		}
	}
	return out
}

// collect analyses every unit, then orders all the findings and builds
// them at once.
func (a *analysis) collect(r *unitRun, ws []*analysis, removed []pending, identityOrder bool) ([]nhi.Finding, []ExpiredException) {
	r.run(ws, func(int, int, *unit) {})
	var chunks [][]pending
	for _, u := range r.units {
		chunks = append(chunks, u.pending...)
	}
	return a.materialise(gather(chunks, removed, identityOrder))
}

// handOn gives the findings to sink a unit's worth at a time.
func handOn(fs []nhi.Finding, sink func([]nhi.Finding)) {
	for lo := 0; lo < len(fs); lo += minShard {
		sink(fs[lo:min(len(fs), lo+minShard)])
	}
}

// analyse runs the rules over one unit of identities, writing each one's
// ownership to the same position of owns.
func (a *analysis) analyse(ids []nhi.Identity, owns []nhi.Ownership, d *driftState, cert *nhi.Certification) {
	for i := range ids {
		id := &ids[i]
		s := a.resolve(id)
		owns[i] = s.own
		a.own = &owns[i]
		a.identityRules(id, s)
		if d != nil {
			a.drift(d, id, &s)
		}
		if cert != nil {
			a.sinceCertification(id, &s, cert)
		}
		a.flush()
	}
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
	// pending holds the findings emitted so far in fixed-size chunks, in
	// identity order; scratch the current identity's (findings.go).
	pending [][]pending
	scratch []pending
	// own is the current identity's ownership, which its findings share;
	// evs is the chunk the findings' evidence is copied into; rules caches
	// rules.Lookup.
	own   *nhi.Ownership
	evs   nhi.Evidence
	rules map[string]*rules.Rule
	// prevAt is the shard's position in the previous inventory (drift.go).
	prevAt int
	// cur and prev say what this scan and the previous one (nil on a
	// first scan) observed; facets interns the findings' facet lists.
	cur, prev *observer
	facets    map[facetKey][]nhi.Facet
	// unevaluated: see Result.Unevaluated.
	unevaluated map[string]nhi.Hidden
	// driftSt and prevCollected are the previous scan's identities and its
	// collection time (nil and zero on a first scan): when a grant without
	// a creation time was first seen (unused.go).
	driftSt       *driftState
	prevCollected time.Time
	// reuse is set on a streaming worker (units.go): its chunks of pending
	// findings (spare) and of evidence (evPool, evUsed of them in use) and
	// its batch are reused from unit to unit once handed on.
	reuse  bool
	tsMemo tsMemo
	// keyGroups is credentialRules' scratch (longlived.go).
	keyGroups []keyGroup
	spare     [][]pending
	evPool    []nhi.Evidence
	evUsed    int
	batch     []nhi.Finding
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
		facets:   map[facetKey][]nhi.Facet{},
		rules:    map[string]*rules.Rule{},
	}
}

// fork returns an analysis for one shard: it shares the catalog, indexes
// and coverage, and has its own memos and findings, so shards run
// concurrently without locks.
func (a *analysis) fork() *analysis {
	return &analysis{
		cat: a.cat, now: a.now, def: a.def, index: a.index, people: a.people,
		baseline: map[baselineKey]allowance{},
		facets:   map[facetKey][]nhi.Facet{},
		rules:    map[string]*rules.Rule{},
		cur:      a.cur.fork(), prev: a.prev.fork(),
		prevAt: -1, driftSt: a.driftSt, prevCollected: a.prevCollected,
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
func (a *analysis) emit(ruleID string, id *nhi.Identity, s *subject, o on, ev evidenceBuilder) {
	r := a.rule(ruleID)
	facets := a.facetsOf(r, id, o)
	if !a.judged(r, id.Provider, id.Scope, facets) {
		return
	}
	sev := r.Severity
	if o, ok := a.def.Severity[ruleID]; ok {
		sev = o
	}
	p := pending{id: id, cred: o.cred, grant: o.grant, rule: r, sev: sev, ev: a.keep(&ev), facets: facets}
	if s != nil {
		p.own = a.ownership(&s.own)
	}
	a.scratch = append(a.scratch, p)
}

// rule returns the rule of that id, looked up once per analysis.
func (a *analysis) rule(id string) *rules.Rule {
	if r, ok := a.rules[id]; ok {
		return r
	}
	r, ok := rules.Lookup(id)
	if !ok {
		panic("analyzer: unknown rule " + id) // a programming error, caught by tests
	}
	a.rules[id] = &r
	return &r
}

// evidence starts a finding's evidence with keys and values in turn.
func evidence(kv ...string) evidenceBuilder {
	var ev evidenceBuilder
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Set(kv[i], kv[i+1])
	}
	return ev
}

// evidenceBuilder is a finding's evidence while its rule builds it: keys
// in the order they were set, on the stack (a million findings' evidence
// built in maps or sorted slices was most of the analyzer's garbage).
// emit sorts it into the nhi.Evidence the finding keeps.
type evidenceBuilder struct {
	n  int
	kv [16]nhi.EvidenceItem
	// more holds every item once there are more than fit in kv.
	more []nhi.EvidenceItem
}

func (ev *evidenceBuilder) items() []nhi.EvidenceItem {
	if ev.more != nil {
		return ev.more
	}
	return ev.kv[:ev.n]
}

// Set sets key k to v.
func (ev *evidenceBuilder) Set(k, v string) {
	items := ev.items()
	for i := range items {
		if items[i].Key == k {
			items[i].Value = v
			return
		}
	}
	switch {
	case ev.more != nil:
		ev.more = append(ev.more, nhi.EvidenceItem{Key: k, Value: v})
	case ev.n == len(ev.kv):
		ev.more = append(slices.Clone(ev.kv[:]), nhi.EvidenceItem{Key: k, Value: v})
	default:
		ev.kv[ev.n] = nhi.EvidenceItem{Key: k, Value: v}
		ev.n++
	}
}

// Get returns the value of key k, "" when absent.
func (ev *evidenceBuilder) Get(k string) string {
	for _, it := range ev.items() {
		if it.Key == k {
			return it.Value
		}
	}
	return ""
}

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

// tsMemo remembers recently formatted times, direct-mapped by second:
// usage reports stamp a whole scope with one as-of time, and credentials
// are often created in batches, so a time formatted once is formatted
// again many times.
type tsMemo [1 << tsMemoBits]struct {
	sec int64
	s   string
}

const tsMemoBits = 10

// ts is the package's ts through the analysis's memo.
func (a *analysis) ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	sec := t.Unix()                                                   // RFC 3339 has no fraction of a second
	e := &a.tsMemo[(uint64(sec)*0x9E3779B97F4A7C15)>>(64-tsMemoBits)] // whole days collide less than sec mod 2^n
	if e.s == "" || e.sec != sec {
		e.sec, e.s = sec, ts(t)
	}
	return e.s
}
