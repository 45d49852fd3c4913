package github

import (
	"encoding/json"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// stamp is a timestamp field of one item, decoded on its own: a value that
// is not an RFC 3339 time leaves that field unknown (Bad) instead of
// failing the item, its page and its list. null and an absent field are
// the zero stamp.
type stamp struct {
	T   time.Time
	Bad bool
}

// UnmarshalJSON never fails: a malformed value is Bad.
func (s *stamp) UnmarshalJSON(b []byte) error {
	*s = stamp{}
	if string(b) == "null" {
		return nil
	}
	var v string
	if json.Unmarshal(b, &v) != nil {
		s.Bad = true
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		s.Bad = true
		return nil
	}
	s.T = t.UTC()
	return nil
}

// set reports whether the field holds a time.
func (s stamp) set() bool { return !s.Bad && !s.T.IsZero() }

// present reports whether the field was given at all (a time, or a value
// that is not one).
func (s stamp) present() bool { return s.Bad || !s.T.IsZero() }

// rfc3339 formats a set stamp; "" otherwise.
func (s stamp) rfc3339() string {
	if !s.set() {
		return ""
	}
	return s.T.Format(time.RFC3339)
}

// badField is a field GitHub answered with a value that is not a
// timestamp: its gap names the item and the field, and hides the facets
// the field feeds.
type badField struct {
	op     string
	detail string
	facets []nhi.Facet
}

// field returns the time of a timestamp field of an item (what, listed by
// op), the zero time when it is not set. A malformed value is noted as a
// bad field hiding facets, and the rest of the item is kept.
func (d *orgData) field(op, what, name string, s stamp, facets ...nhi.Facet) time.Time {
	if s.Bad {
		d.badFields = append(d.badFields, badField{op: op, facets: facets,
			detail: what + ": " + name + " is not an RFC 3339 timestamp; that field is unknown, the rest of the item is kept"})
	}
	return s.T
}

// usage turns a last-use field into usage: used, never used (null), or
// unknown when GitHub's value is not a timestamp (noted as a bad field
// hiding usage).
func (d *orgData) usage(op, what, name string, s stamp, asOf time.Time, neverReason string) nhi.Usage {
	switch {
	case s.Bad:
		d.field(op, what, name, s, facetUsage)
		return nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, AsOf: asOf, Reason: "GitHub's " + name + " is not a timestamp"}
	case s.set():
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: s.T, Source: usageSource, AsOf: asOf}
	}
	return nhi.Usage{State: nhi.UsageNeverUsed, Source: usageSource, AsOf: asOf, Reason: neverReason}
}
