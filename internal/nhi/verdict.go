package nhi

import (
	"encoding/json"
	"fmt"
)

// Verdict is a judgement of whether a grant is privileged. It has three
// states, because "nobody judged this grant" (an imported inventory that
// does not say) is a different fact from "a collector judged it and found it
// not privileged": only the first may be classified by the analyzer.
//
// In the JSON inventory form it is the grant's "privileged" field: true,
// false, or absent when not judged.
type Verdict uint8

// Verdicts.
const (
	// NotJudged: no collector classified the grant.
	NotJudged Verdict = iota
	// JudgedPrivileged: a collector classified the grant as privileged.
	JudgedPrivileged
	// JudgedNotPrivileged: a collector classified the grant as not
	// privileged.
	JudgedNotPrivileged
)

// VerdictOf returns the judged verdict for b.
func VerdictOf(privileged bool) Verdict {
	if privileged {
		return JudgedPrivileged
	}
	return JudgedNotPrivileged
}

// Judged reports whether a collector classified the grant.
func (v Verdict) Judged() bool { return v == JudgedPrivileged || v == JudgedNotPrivileged }

// Privileged reports whether the verdict is "privileged".
func (v Verdict) Privileged() bool { return v == JudgedPrivileged }

// IsZero reports whether the grant was not judged, so that the field is
// omitted from JSON (omitzero).
func (v Verdict) IsZero() bool { return v == NotJudged }

// String returns "privileged", "not privileged" or "not judged".
func (v Verdict) String() string {
	switch v {
	case JudgedPrivileged:
		return "privileged"
	case JudgedNotPrivileged:
		return "not privileged"
	}
	return "not judged"
}

// MarshalJSON writes true or false. A NotJudged verdict is omitted by the
// field's omitzero tag; written on its own it is null.
func (v Verdict) MarshalJSON() ([]byte, error) {
	switch v {
	case JudgedPrivileged:
		return []byte("true"), nil
	case JudgedNotPrivileged:
		return []byte("false"), nil
	}
	return []byte("null"), nil
}

// UnmarshalJSON reads true, false or null.
func (v *Verdict) UnmarshalJSON(b []byte) error {
	var p *bool
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("privileged: want true, false or null: %w", err)
	}
	switch {
	case p == nil:
		*v = NotJudged
	default:
		*v = VerdictOf(*p)
	}
	return nil
}
