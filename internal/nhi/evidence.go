package nhi

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// Evidence holds the values and thresholds that triggered a finding: pairs
// of key and value, each key once, kept sorted by key. It replaces a
// map[string]string (a million findings each with its own map cost
// gigabytes) and has the same JSON form: an object with its keys in
// sorted order, escaped as encoding/json escapes a map, so a finding
// stored as JSON, and the audit hashes over it, are byte for byte what
// they were. A nil Evidence encodes as null and an empty one as {}, as
// maps do.
type Evidence []EvidenceItem

// EvidenceItem is one key and value of Evidence.
type EvidenceItem struct{ Key, Value string }

// EvidenceOf converts a map to Evidence (nil for a nil map).
func EvidenceOf(m map[string]string) Evidence {
	if m == nil {
		return nil
	}
	ev := make(Evidence, 0, len(m))
	for k, v := range m {
		ev = append(ev, EvidenceItem{k, v})
	}
	slices.SortFunc(ev, compareItems)
	return ev
}

func compareItems(a, b EvidenceItem) int { return strings.Compare(a.Key, b.Key) }

// Get returns the value of key k, "" when absent.
func (e Evidence) Get(k string) string {
	v, _ := e.Lookup(k)
	return v
}

// Lookup returns the value of key k and whether it is present.
func (e Evidence) Lookup(k string) (string, bool) {
	for _, it := range e {
		if it.Key == k {
			return it.Value, true
		}
	}
	return "", false
}

// Set sets key k to v, replacing its value if present, keeping the keys
// sorted.
func (e *Evidence) Set(k, v string) {
	i, found := slices.BinarySearchFunc(*e, k, func(it EvidenceItem, k string) int { return strings.Compare(it.Key, k) })
	if !found && !slices.IsSortedFunc(*e, compareItems) {
		// Built out of order (a literal): sort once, then search again.
		slices.SortStableFunc(*e, compareItems)
		i, found = slices.BinarySearchFunc(*e, k, func(it EvidenceItem, k string) int { return strings.Compare(it.Key, k) })
	}
	if found {
		(*e)[i].Value = v
		return
	}
	*e = slices.Insert(*e, i, EvidenceItem{k, v})
}

// Map returns the evidence as a new map (nil for nil Evidence).
func (e Evidence) Map() map[string]string {
	if e == nil {
		return nil
	}
	m := make(map[string]string, len(e))
	for _, it := range e {
		m[it.Key] = it.Value
	}
	return m
}

// Sorted returns e with its keys in order and each key once (the last
// value wins, as in a map literal built in that order); e itself when it
// already is.
func (e Evidence) Sorted() Evidence {
	ok := true
	for i := 1; i < len(e); i++ {
		if e[i-1].Key >= e[i].Key {
			ok = false
			break
		}
	}
	if ok {
		return e
	}
	out := make(Evidence, 0, len(e))
	for _, it := range e {
		out.Set(it.Key, it.Value)
	}
	return out
}

// MarshalJSON writes the evidence as a JSON object, exactly as
// encoding/json writes the equivalent map[string]string.
func (e Evidence) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	e = e.Sorted()
	n := 2
	for _, it := range e {
		n += len(it.Key) + len(it.Value) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, it := range e {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, it.Key)
		b = append(b, ':')
		b = appendJSONString(b, it.Value)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads a JSON object of strings (or null).
func (e *Evidence) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*e = nil
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*e = EvidenceOf(m)
	return nil
}

// appendJSONString appends s quoted as encoding/json quotes a string
// (HTML-safe): plain printable ASCII directly, anything else through
// encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
