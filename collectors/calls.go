package collectors

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"unicode"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Call is one HTTP attempt a collector or its controls made: the provider,
// the operation (the SDK's name for it where the SDK gives one, else the
// method and the path with its identifiers replaced by {}), and how it
// ended: ok, denied, not_found, throttled, unavailable, timeout or error.
// Retries are separate calls.
type Call struct {
	Provider  nhi.Provider
	Operation string
	Status    string
}

// CallObserver hears every call (metrics). Collectors call it from several
// goroutines; nil means nobody listens. Collectors know nothing of what
// listens: the wiring counts from this hook.
type CallObserver func(Call)

// Observe calls o when it is set.
func (o CallObserver) Observe(c Call) {
	if o != nil {
		o(c)
	}
}

// CallStatus classifies one HTTP attempt by its response or error.
func CallStatus(resp *http.Response, err error) string {
	var ne net.Error
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case err != nil:
		return "error"
	case resp.StatusCode < 400:
		return "ok"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "denied"
	case resp.StatusCode == http.StatusNotFound:
		return "not_found"
	case resp.StatusCode == http.StatusTooManyRequests:
		return "throttled"
	case resp.StatusCode >= 500:
		return "unavailable"
	}
	return "error"
}

// observeTransport reports each round trip through o.
type observeTransport struct {
	base http.RoundTripper
	p    nhi.Provider
	op   func(*http.Request) string
	o    CallObserver
}

func (t observeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	t.o.Observe(Call{Provider: t.p, Operation: t.op(req), Status: CallStatus(resp, err)})
	return resp, err
}

// ObserveTransport wraps base (nil: http.DefaultTransport) so that each
// round trip is reported to o, named by op. With o nil it returns base.
func ObserveTransport(base http.RoundTripper, p nhi.Provider, op func(*http.Request) string, o CallObserver) http.RoundTripper {
	if o == nil {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return observeTransport{base: base, p: p, op: op, o: o}
}

// PathOperation names a request by its method and path, each identifier
// replaced by {}: the n segments after a collection named in idAfter (its
// members are named by them: repos is followed by owner and repository),
// and any segment with a digit or @ (ids, GUIDs, emails; not the first
// segment, an API version). What stays is the API's own vocabulary, so the
// label's values stay few. A segment's ":verb" suffix (Google's custom
// methods) is kept.
func PathOperation(req *http.Request, idAfter map[string]int) string {
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	pending := 0
	for i, s := range segs {
		name, verb, _ := strings.Cut(s, ":")
		switch {
		case pending > 0:
			name, pending = "{}", pending-1
		case i > 0 && hasDigitOrAt(name):
			name = "{}"
		default:
			pending = idAfter[name]
		}
		if verb != "" {
			name += ":" + verb
		}
		segs[i] = name
	}
	return req.Method + " /" + strings.Join(segs, "/")
}

// hasDigitOrAt: an email, a number, or a long token with a digit (a GUID,
// a key id); short words with a digit (oauth2, v2.0) are vocabulary.
func hasDigitOrAt(s string) bool {
	if strings.Contains(s, "@") {
		return true
	}
	digits := strings.IndexFunc(s, unicode.IsDigit) >= 0
	allDigits := s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
	return allDigits || (digits && len(s) >= 8)
}
