package fakeapi

import (
	"encoding/binary"
	"hash/fnv"
	"net/http"
	"sort"
	"sync"
)

// FaultKind is how an injected fault answers.
type FaultKind string

// Fault kinds. Each fake renders them in its provider's wire format.
const (
	// FaultDenied: the provider's "access denied" answer (403 or its own
	// error code).
	FaultDenied = FaultKind("denied")
	// FaultThrottled: the provider's rate-limit answer (429, Throttling).
	FaultThrottled = FaultKind("throttled")
	// FaultFailed: an HTTP error with Fault.Status (500, 502, 503 …).
	FaultFailed = FaultKind("failed")
	// FaultTimeout: no answer until the client gives up (its request
	// context ends) or the fake's hang limit passes.
	FaultTimeout = FaultKind("timeout")
)

// Fault is one injected failure.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status of a FaultFailed answer.
	Status int
}

// Injection records one call a fault was injected into.
type Injection struct {
	Scope, Op string
	Fault     Fault
}

// Faults decides which calls of a fake fail. Every fake embeds it, so the
// four fakes share one vocabulary: Deny, DenyAfter, Throttle, Fail, Timeout
// and Random. A scope or op of "" matches every scope or operation. The zero
// value injects nothing; it is safe for concurrent use.
type Faults struct {
	mu       sync.Mutex
	rules    []faultRule
	random   *randomFaults
	calls    map[[2]string]int // calls seen per scope and op (for DenyAfter, Random)
	injected []Injection
}

type faultRule struct {
	scope, op string
	fault     Fault
	// after: the first after calls pass; remaining: how many calls fail
	// (-1: every call).
	after, remaining int
}

type randomFaults struct {
	seed  uint64
	rate  float64
	kinds []Fault
	// stuck keeps a throttled scope and op throttled for the next calls,
	// so that the SDK's retries are exhausted.
	stuck map[[2]string]int
}

// Deny makes every call of op in scope answer "access denied".
func (f *Faults) Deny(scope, op string) {
	f.add(faultRule{scope: scope, op: op, fault: Fault{Kind: FaultDenied}, remaining: -1})
}

// DenyAfter lets the first n calls of op in scope pass, then denies every
// later one (a permission revoked mid-scan, a page after the first).
func (f *Faults) DenyAfter(scope, op string, n int) {
	f.add(faultRule{scope: scope, op: op, fault: Fault{Kind: FaultDenied}, after: n, remaining: -1})
}

// Throttle makes the next n calls of op in scope answer with the provider's
// rate-limit error.
func (f *Faults) Throttle(scope, op string, n int) {
	f.add(faultRule{scope: scope, op: op, fault: Fault{Kind: FaultThrottled}, remaining: n})
}

// Fail makes every call of op in scope answer with an HTTP status (500,
// 502, 503 …) in the provider's error format.
func (f *Faults) Fail(scope, op string, status int) {
	f.add(faultRule{scope: scope, op: op, fault: Fault{Kind: FaultFailed, Status: status}, remaining: -1})
}

// Timeout makes every call of op in scope hang until the client gives up.
func (f *Faults) Timeout(scope, op string) {
	f.add(faultRule{scope: scope, op: op, fault: Fault{Kind: FaultTimeout}, remaining: -1})
}

// Random fails a seeded share (rate, 0 to 1) of all calls with one of the
// given faults (by default: throttled past the SDK's retries, denied, 500
// and timeout). The choice is a function of the seed, the scope, the
// operation and how many calls of that operation came before, so a run
// with the same seed and the same sequence of calls fails the same calls.
func (f *Faults) Random(seed uint64, rate float64, kinds ...Fault) {
	if len(kinds) == 0 {
		kinds = []Fault{{Kind: FaultThrottled}, {Kind: FaultDenied}, {Kind: FaultFailed, Status: http.StatusInternalServerError}, {Kind: FaultTimeout}}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.random = &randomFaults{seed: seed, rate: rate, kinds: kinds, stuck: map[[2]string]int{}}
}

// ClearFaults removes every fault and forgets the injections.
func (f *Faults) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.random, f.calls, f.injected = nil, nil, nil, nil
}

func (f *Faults) add(r faultRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
}

// Inject is called by the fake for every call: it returns the fault to
// answer with, if any, and records it.
func (f *Faults) Inject(scope, op string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[[2]string]int{}
	}
	k := [2]string{scope, op}
	n := f.calls[k]
	f.calls[k] = n + 1
	fault, ok := f.fromRules(scope, op, n)
	if !ok {
		fault, ok = f.fromRandom(k, n)
	}
	if ok {
		f.injected = append(f.injected, Injection{Scope: scope, Op: op, Fault: fault})
	}
	return fault, ok
}

func (f *Faults) fromRules(scope, op string, n int) (Fault, bool) {
	for i := range f.rules {
		r := &f.rules[i]
		if (r.scope != "" && r.scope != scope) || (r.op != "" && r.op != op) || n < r.after || r.remaining == 0 {
			continue
		}
		if r.remaining > 0 {
			r.remaining--
		}
		return r.fault, true
	}
	return Fault{}, false
}

// stuckCalls is how many calls a randomly throttled operation stays
// throttled: more than any SDK's retry budget.
const stuckCalls = 12

func (f *Faults) fromRandom(k [2]string, n int) (Fault, bool) {
	r := f.random
	if r == nil {
		return Fault{}, false
	}
	if left := r.stuck[k]; left > 0 {
		r.stuck[k] = left - 1
		return Fault{Kind: FaultThrottled}, true
	}
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], r.seed)
	h.Write(b[:])
	h.Write([]byte(k[0] + "\x00" + k[1] + "\x00"))
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
	v := h.Sum64()
	if float64(v%1_000_000)/1_000_000 >= r.rate {
		return Fault{}, false
	}
	fault := r.kinds[(v/1_000_000)%uint64(len(r.kinds))]
	if fault.Kind == FaultThrottled {
		r.stuck[k] = stuckCalls
	}
	return fault, true
}

// Injected returns every injected fault so far, sorted by scope and op.
func (f *Faults) Injected() []Injection {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]Injection(nil), f.injected...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Scope != out[j].Scope {
			return out[i].Scope < out[j].Scope
		}
		return out[i].Op < out[j].Op
	})
	return out
}
