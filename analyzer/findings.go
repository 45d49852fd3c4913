package analyzer

import (
	"cmp"
	"slices"
	"sync"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// pending is a finding as a rule emits it, before it becomes an
// nhi.Finding: what it is about (pointers into the inventory), its rule,
// severity, the ownership its identity resolved to, its evidence and its
// facets. It is under a third of the size of an nhi.Finding, so a large
// analysis holds the findings once in full (the result) rather than
// twice, and the fingerprints are hashed in parallel at the end.
type pending struct {
	id     *nhi.Identity
	cred   *nhi.Credential
	grant  *nhi.Grant
	rule   *rules.Rule
	own    *nhi.Ownership
	sev    nhi.Severity
	ev     nhi.Evidence
	facets []nhi.Facet
}

func (p *pending) credID() string {
	if p.cred == nil {
		return ""
	}
	return p.cred.ID
}

func (p *pending) grantID() string {
	if p.grant == nil {
		return ""
	}
	return p.grant.ID
}

// appendFingerprint appends the finding's fingerprint to dst.
func (p *pending) appendFingerprint(dst []byte) []byte {
	return nhi.AppendFingerprint(dst, p.rule.ID, p.id.ID, p.credID(), p.grantID())
}

// finding builds the nhi.Finding, whose fingerprint is fp.
func (p *pending) finding(fp string) nhi.Finding {
	r := p.rule
	credID, grantID := p.credID(), p.grantID()
	f := nhi.Finding{
		Fingerprint:  fp,
		RuleID:       r.ID,
		Family:       r.Family,
		Severity:     p.sev,
		Title:        r.Title,
		Provider:     p.id.Provider,
		Scope:        p.id.Scope,
		IdentityID:   p.id.ID,
		IdentityName: p.id.Name,
		IdentityKind: p.id.Kind,
		CredentialID: credID,
		GrantID:      grantID,
		Evidence:     p.ev,
		Remediation:  r.Remediation,
		Controls:     r.Controls,
		Facets:       p.facets,
	}
	if p.own != nil {
		f.RoleID, f.Owner, f.OwnerSource = p.own.RoleID, p.own.Owner, p.own.OwnerSource
	}
	return f
}

// comparePending orders findings by identity id (which starts with the
// provider), rule, credential and grant.
func comparePending(a, b *pending) int {
	if c := cmp.Compare(a.id.ID, b.id.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.rule.ID, b.rule.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.credID(), b.credID()); c != 0 {
		return c
	}
	return cmp.Compare(a.grantID(), b.grantID())
}

func sortPending(ps []pending) {
	if len(ps) > 1 {
		slices.SortFunc(ps, func(x, y pending) int { return comparePending(&x, &y) })
	}
}

const (
	chunkSize   = 1024
	evChunkSize = 16384
)

// keep sorts the evidence by key and copies it into the analysis's current
// evidence chunk, with its capacity clipped (a later Set reallocates
// rather than overwrite its neighbour): one allocation per chunk rather
// than one per finding.
func (a *analysis) keep(ev *evidenceBuilder) nhi.Evidence {
	items := ev.items()
	if len(items) == 0 {
		return nil
	}
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].Key < items[j-1].Key; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	if cap(a.evs)-len(a.evs) < len(items) {
		a.evs = a.evChunk(len(items))
	}
	lo := len(a.evs)
	a.evs = append(a.evs, items...)
	return a.evs[lo:len(a.evs):len(a.evs)]
}

// evChunk returns an empty chunk for at least n evidence items: a new one,
// or on a streaming worker one of its pool that is free again.
func (a *analysis) evChunk(n int) nhi.Evidence {
	if !a.reuse || n > evChunkSize {
		return make(nhi.Evidence, 0, max(evChunkSize, n))
	}
	if a.evUsed == len(a.evPool) {
		a.evPool = append(a.evPool, make(nhi.Evidence, 0, evChunkSize))
	}
	c := a.evPool[a.evUsed][:0]
	a.evUsed++
	return c
}

// pendingChunk returns an empty chunk of pending findings, a spare one
// when the worker has one.
func (a *analysis) pendingChunk() []pending {
	if n := len(a.spare); n > 0 {
		c := a.spare[n-1]
		a.spare = a.spare[:n-1]
		return c
	}
	return make([]pending, 0, chunkSize)
}

// ownership returns the ownership a finding records: the current
// identity's, shared by its findings, or a copy when the rule resolved
// another one (a removed identity).
func (a *analysis) ownership(o *nhi.Ownership) *nhi.Ownership {
	if a.own != nil && *a.own == *o {
		return a.own
	}
	c := *o
	return &c
}

// flush sorts the current identity's findings by rule, credential and
// grant and moves them to the chunked list. Identities are analysed in id
// order (inventories are normalised), so the list comes out sorted
// without a global sort.
func (a *analysis) flush() {
	sortPending(a.scratch)
	for _, p := range a.scratch {
		if n := len(a.pending); n == 0 || len(a.pending[n-1]) == cap(a.pending[n-1]) {
			a.pending = append(a.pending, a.pendingChunk())
		}
		last := &a.pending[len(a.pending)-1]
		*last = append(*last, p)
	}
	clear(a.scratch)
	a.scratch = a.scratch[:0]
	a.own = nil
}

// gather lists the findings of chunks, which are in identity order unless
// sorted is false, merged with the sorted findings about removed
// identities. When the identities were not in id order it sorts instead,
// so the output order never depends on the input order.
func gather(chunks [][]pending, removed []pending, sorted bool) []*pending {
	n := len(removed)
	for _, c := range chunks {
		n += len(c)
	}
	all := make([]*pending, 0, n)
	for _, c := range chunks {
		for i := range c {
			all = append(all, &c[i])
		}
	}
	if !sorted {
		slices.SortFunc(all, comparePending)
	}
	out := make([]*pending, 0, n)
	r := 0
	for _, p := range all {
		for r < len(removed) && comparePending(&removed[r], p) < 0 {
			out = append(out, &removed[r])
			r++
		}
		out = append(out, p)
	}
	for ; r < len(removed); r++ {
		out = append(out, &removed[r])
	}
	return out
}

// materialise builds the findings in order, in parallel, and applies the
// catalog's exceptions to them (exceptions.go).
func (a *analysis) materialise(order []*pending) ([]nhi.Finding, []ExpiredException) {
	out := make([]nhi.Finding, len(order))
	ex := a.newExceptions()
	shards := shardsOf(len(order))
	expired := make([]map[string]*ExpiredException, len(shards))
	var wg sync.WaitGroup
	for k, sh := range shards {
		expired[k] = map[string]*ExpiredException{}
		wg.Go(func() { ex.build(order[sh[0]:sh[1]], out[sh[0]:sh[1]], expired[k]) })
	}
	wg.Wait()
	return out, ex.expired(expired)
}

// build writes the finding of each of order to the same position of out
// and applies the exceptions to it, counting those that expired. The
// fingerprints of fpBatch findings share one string: one allocation, not
// one per finding, and small enough not to be a large object (the
// collector is slow to shade pointers into one).
func (x *exceptions) build(order []*pending, out []nhi.Finding, expired map[string]*ExpiredException) {
	var buf [fpBatch * nhi.FingerprintLen]byte
	for lo := 0; lo < len(order); lo += fpBatch {
		batch := order[lo:min(len(order), lo+fpBatch)]
		b := buf[:0]
		for _, p := range batch {
			b = p.appendFingerprint(b)
		}
		fps := string(b)
		for i, p := range batch {
			f := &out[lo+i]
			*f = p.finding(fps[i*nhi.FingerprintLen : (i+1)*nhi.FingerprintLen])
			x.apply(f, p.id.Tags, expired)
		}
	}
}

// fpBatch is how many fingerprints share a string.
const fpBatch = 512
