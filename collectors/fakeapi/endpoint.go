package fakeapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// DefaultHang is how long a call answering with an injected timeout hangs
// when its client does not give up first.
const DefaultHang = 5 * time.Second

// Endpoint is the HTTP server a fake runs on and the knobs every fake
// offers: SetPageSize, SetLatency, SetHang, Client and Close. A fake embeds
// it, calls Start with its handler, and reads the knobs with PageSize,
// Delay and Hang; what a page or a timed-out call looks like stays the
// fake's own (its provider's wire format). The zero value is ready to
// Start; the knobs are safe for concurrent use.
type Endpoint struct {
	// URL is the base URL of the running server.
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	pageSize int
	latency  time.Duration
	hang     time.Duration
	hangSet  bool

	closeOnce sync.Once
	closing   chan struct{}
}

// Start serves h on a loopback listener (with TLS when tls is set) and
// sets URL.
func (e *Endpoint) Start(h http.Handler, tls bool) {
	e.closing = make(chan struct{})
	if tls {
		e.srv = httptest.NewTLSServer(h)
	} else {
		e.srv = httptest.NewServer(h)
	}
	e.URL = e.srv.URL
}

// Close stops the server. Calls hanging on an injected timeout (or held by
// the latency) are let go first, so Close does not wait for them.
func (e *Endpoint) Close() {
	e.closeOnce.Do(func() { close(e.closing) })
	e.srv.Close()
}

// Client returns an HTTP client for the server (trusting its certificate
// when it serves TLS).
func (e *Endpoint) Client() *http.Client { return e.srv.Client() }

// SetPageSize sets the largest page a list call answers with, so tests can
// exercise paging with small seeds; n <= 0 restores the provider's own page
// sizes.
func (e *Endpoint) SetPageSize(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pageSize = max(n, 0)
}

// PageSize returns what SetPageSize set, 0 when the provider's own page
// sizes apply.
func (e *Endpoint) PageSize() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pageSize
}

// SetLatency delays every call by d (benchmarks).
func (e *Endpoint) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// SetHang sets how long a call answering with an injected timeout hangs
// when its client does not give up first (default DefaultHang); what
// happens then is the fake's own (a gateway timeout, a dropped connection).
func (e *Endpoint) SetHang(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hang, e.hangSet = d, true
}

// Delay holds a call for the latency SetLatency set. It reports false when
// the client gave up or the server is closing first.
func (e *Endpoint) Delay(ctx context.Context) bool {
	e.mu.Lock()
	d := e.latency
	e.mu.Unlock()
	if d <= 0 {
		return true
	}
	return e.wait(ctx, d)
}

// Hang holds a call answering with an injected timeout until the hang
// limit passes (true), or the client gives up or the server closes first
// (false: the call must not be answered at all).
func (e *Endpoint) Hang(ctx context.Context) bool {
	e.mu.Lock()
	d := DefaultHang
	if e.hangSet {
		d = e.hang
	}
	e.mu.Unlock()
	return e.wait(ctx, d)
}

func (e *Endpoint) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-e.closing:
	}
	return false
}
