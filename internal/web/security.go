package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// contentSecurityPolicy allows nothing but this server's own stylesheet,
// script and forms: no inline script or style, no framing, no base URL.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers of every response. Pages are never
// cached: they show one reviewer's items.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddr is the address of the client that sent r. A request from a
// trusted proxy may name the client in Forwarded (RFC 7239, preferred) or
// X-Forwarded-For: the chain is read from the right, skipping trusted
// proxies, and the first address that is not one is the client. Anything
// else, or a header that does not parse, leaves the nearest peer.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	if f := r.Header.Values("Forwarded"); len(f) > 0 {
		hops = forwardedFor(f)
	} else {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, part := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(part))
			}
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := hopAddr(hops[i])
		if !a.IsValid() {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr parses a host:port peer address.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, _ := netip.ParseAddr(s)
	return a.Unmap()
}

// forwardedFor lists the for= values of Forwarded headers, in order.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					out = append(out, strings.Trim(val, `"`))
				}
			}
		}
	}
	return out
}

// hopAddr reads one hop: an address, [v6]:port, v4:port; an obfuscated
// identifier or "unknown" is not an address.
func hopAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		a, _ := netip.ParseAddr(s[1 : len(s)-1])
		return a.Unmap()
	}
	return netip.Addr{}
}

// Bad-token limits: a client that presented this many bad review links
// (tampered, foreign or expired) is refused further links until the bucket
// refills at one per interval.
const (
	badTokenBurst    = 10
	badTokenInterval = 6 * time.Second
	// maxLimited bounds the clients tracked; full buckets are dropped first.
	maxLimited = 10000
)

// limiter rate-limits bad tokens per client address.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	clients map[netip.Addr]*rate.Limiter
}

func newLimiter(every rate.Limit, burst int) *limiter {
	return &limiter{every: every, burst: burst, clients: map[netip.Addr]*rate.Limiter{}}
}

// blocked reports whether the client has no bad tokens left at now.
func (l *limiter) blocked(a netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[a]
	return c != nil && c.TokensAt(now) < 1
}

// fail counts a bad token from the client.
func (l *limiter) fail(a netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[a]
	if c == nil {
		if len(l.clients) >= maxLimited {
			l.prune(now)
		}
		c = rate.NewLimiter(l.every, l.burst)
		l.clients[a] = c
	}
	c.AllowN(now, 1)
}

// prune forgets clients whose bucket has refilled, and if that is not
// enough, every client (the limit then restarts; memory stays bounded).
func (l *limiter) prune(now time.Time) {
	for a, c := range l.clients {
		if c.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, a)
		}
	}
	if len(l.clients) >= maxLimited {
		clear(l.clients)
	}
}
