package analyzer

import (
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// minShard is the fewest identities (or findings) worth a goroutine of
// their own, and the size of a unit; tests lower it.
var minShard = 4096

// unit is a contiguous run of identities, ids[lo:hi), analysed by one
// worker; pending holds its findings, in identity order, until they are
// materialised.
type unit struct {
	lo, hi  int
	pending [][]pending
}

// unitsOf splits n identities into contiguous units of minShard, in order;
// there is always one, so the findings about removed identities of an
// inventory that is now empty have a unit to go with.
func unitsOf(n int) []unit {
	out := make([]unit, 0, max(1, (n+minShard-1)/minShard))
	for lo := 0; lo < n || len(out) == 0; lo += minShard {
		out = append(out, unit{lo: lo, hi: min(n, lo+minShard)})
	}
	return out
}

// shardsOf splits n items into contiguous [lo, hi) ranges, one per
// processor, none much smaller than minShard.
func shardsOf(n int) [][2]int {
	k := max(1, min(runtime.GOMAXPROCS(0), n/minShard))
	out := make([][2]int, k)
	for i := range k {
		out[i] = [2]int{n * i / k, n * (i + 1) / k}
	}
	return out
}

// workers are the analyses that take the units, one per processor: each
// keeps its memos from unit to unit, and takes units in increasing order,
// so its walk of the previous inventory (drift.go) stays linear.
func (a *analysis) workers(units int) []*analysis {
	ws := make([]*analysis, max(1, min(runtime.GOMAXPROCS(0), units)))
	for i := range ws {
		ws[i] = a.fork()
	}
	return ws
}

// unitRun is one analysis's identities and where their results go.
type unitRun struct {
	ids   []nhi.Identity
	owns  []nhi.Ownership
	d     *driftState
	cert  *nhi.Certification
	units []unit
	// own, when set, is filled with each unit's ownership as it is handed
	// on (stream).
	own map[string]nhi.Ownership
}

// owned adds the ownership of identities [lo, hi) to m.
func (r *unitRun) owned(lo, hi int, m map[string]nhi.Ownership) {
	for i := lo; i < hi; i++ {
		m[r.owns[i].IdentityID] = r.owns[i]
	}
}

// run analyses every unit on the workers, each taking the next unit in
// order; done is called on the worker's goroutine with the unit analysed,
// its findings in u.pending.
func (r *unitRun) run(ws []*analysis, done func(w int, k int, u *unit)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for wi, w := range ws {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(r.units) {
					return
				}
				u := &r.units[k]
				w.analyse(r.ids[u.lo:u.hi], r.owns[u.lo:u.hi], r.d, r.cert)
				u.pending, w.pending = w.pending, nil
				done(wi, k, u)
			}
		})
	}
	wg.Wait()
}

// removedCuts splits the sorted findings about removed identities between
// the units: unit k takes removed[cuts[k]:cuts[k+1]], those ordered before
// the next unit's first identity (the last unit takes the rest).
func (r *unitRun) removedCuts(removed []pending) []int {
	cuts := make([]int, len(r.units)+1)
	for k := range r.units[:len(r.units)-1] {
		first := r.ids[r.units[k].hi].ID
		cuts[k+1] = sort.Search(len(removed), func(i int) bool { return removed[i].id.ID >= first })
	}
	cuts[len(r.units)] = len(removed)
	return cuts
}

// stream analyses the units and hands each one's findings, materialised
// and merged with those about removed identities, to sink in identity
// order. The worker that analysed a unit waits for the one before it to
// be handed on, hands its own on, and reuses its memory (pending findings,
// evidence and the batch) for its next unit: a batch, and the evidence in
// it, are the sink's only during the call. The identities must be in id
// order. It returns the exceptions that expired.
func (a *analysis) stream(r *unitRun, ws []*analysis, removed []pending, sink func([]nhi.Finding)) []ExpiredException {
	cuts := r.removedCuts(removed)
	turn := make([]chan struct{}, len(r.units)+1)
	for k := range turn {
		turn[k] = make(chan struct{})
	}
	close(turn[0])
	ex := a.newExceptions()
	expired := make([]map[string]*ExpiredException, len(ws))
	for i, w := range ws {
		expired[i] = map[string]*ExpiredException{}
		w.reuse = true
	}
	r.run(ws, func(wi, k int, u *unit) {
		w := ws[wi]
		order := gather(u.pending, removed[cuts[k]:cuts[k+1]], true)
		w.batch = slices.Grow(w.batch[:0], len(order))[:len(order)]
		ex.build(order, w.batch, expired[wi])
		<-turn[k]
		if len(w.batch) > 0 {
			sink(w.batch)
		}
		r.owned(u.lo, u.hi, r.own)
		close(turn[k+1])
		w.recycle(u)
	})
	return ex.expired(expired)
}

// recycle takes back, for the worker's next unit, the memory of a unit
// whose findings have been handed on: its chunks of pending findings and
// of evidence.
func (a *analysis) recycle(u *unit) {
	for _, c := range u.pending {
		a.spare = append(a.spare, c[:0])
	}
	u.pending = nil
	a.evUsed, a.evs = 0, nil
}
