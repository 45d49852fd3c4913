package analyzer

import (
	"runtime"
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
}

// run analyses every unit on the workers, each taking the next unit in
// order. acquire, when set, is called before a unit is taken and bounds how
// far ahead of their consumer the workers run (a false return, after the
// last unit, releases what it took); done is called on the worker's
// goroutine with the unit analysed, its findings in u.pending.
func (r *unitRun) run(ws []*analysis, acquire func() func(), done func(w int, k int, u *unit)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for wi, w := range ws {
		wg.Go(func() {
			for {
				release := func() {}
				if acquire != nil {
					release = acquire()
				}
				k := int(next.Add(1)) - 1
				if k >= len(r.units) {
					release()
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
// order; at most two units per worker are held at once. The identities
// must be in id order. It returns the exceptions that expired.
func (a *analysis) stream(r *unitRun, ws []*analysis, removed []pending, sink func([]nhi.Finding)) []ExpiredException {
	cuts := r.removedCuts(removed)
	ready := make([]chan []nhi.Finding, len(r.units))
	for k := range ready {
		ready[k] = make(chan []nhi.Finding, 1)
	}
	window := make(chan struct{}, 2*len(ws))
	acquire := func() func() {
		window <- struct{}{}
		return func() { <-window }
	}
	ex := a.newExceptions()
	expired := make([]map[string]*ExpiredException, len(ws))
	for i := range expired {
		expired[i] = map[string]*ExpiredException{}
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		r.run(ws, acquire, func(w, k int, u *unit) {
			order := gather(u.pending, removed[cuts[k]:cuts[k+1]], true)
			u.pending = nil
			out := make([]nhi.Finding, len(order))
			ex.build(order, out, expired[w])
			ready[k] <- out
		})
	}()
	for k := range ready {
		if fs := <-ready[k]; len(fs) > 0 {
			sink(fs)
		}
		<-window
	}
	<-finished
	return ex.expired(expired)
}
