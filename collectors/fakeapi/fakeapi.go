// Package fakeapi holds what the providers' in-process fakes share, so that
// each fake keeps only its provider's wire format:
//   - the server and its knobs (a fake embeds Endpoint to offer URL, Client,
//     Close, SetPageSize, SetLatency and SetHang, and reads them with
//     PageSize, Delay and Hang);
//   - call counting (a fake embeds Counter to offer Calls, CallCount,
//     TotalCalls and ResetCalls, so tests can assert call budgets);
//   - fault injection (a fake embeds Faults to offer Deny, DenyAfter,
//     Throttle, Fail, Timeout and Random, and renders each fault in its
//     provider's wire format).
package fakeapi

import "sync"

// Counter counts calls per operation. The zero value is ready to use and it
// is safe for concurrent use.
type Counter struct {
	mu    sync.Mutex
	calls map[string]int
}

// Count records one call of op.
func (c *Counter) Count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
}

// Calls returns the number of calls per operation so far.
func (c *Counter) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// CallCount returns the number of calls of op; "" counts every operation.
func (c *Counter) CallCount(op string) int {
	if op == "" {
		return c.TotalCalls()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// TotalCalls returns the number of calls of all operations.
func (c *Counter) TotalCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

// ResetCalls zeroes the counters.
func (c *Counter) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}
