// Package duration parses and formats the durations nhiscan's catalog and
// configuration use: Go's syntax plus days ("d") and weeks ("w").
package duration

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours; catalog and config durations accept a "d" suffix.
const Day = 24 * time.Hour

// Week is seven days; catalog durations accept a "w" suffix.
const Week = 7 * Day

var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond,
	"us": time.Microsecond,
	"µs": time.Microsecond,
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  Day,
	"w":  Week,
}

// Parse parses a catalog duration: Go's syntax ("36h", "1h30m")
// plus the "d" (24h) and "w" (7d) units, combinable ("1w2d", "1d12h").
// Durations are non-negative integers per unit; fractions, signs and a
// missing unit are errors.
func Parse(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("bad duration %q: must not be negative", s)
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad duration %q: expected a number at %q (for example 90d, 2w, 36h)", s, rest)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: number too large", s)
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit := rest[:j]
		rest = rest[j:]
		if unit == "" {
			return 0, fmt.Errorf("bad duration %q: missing unit (for example 90d, 2w, 36h)", s)
		}
		u, ok := durationUnits[unit]
		if !ok {
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (use ns, us, ms, s, m, h, d or w)", s, unit)
		}
		if n > int64(math.MaxInt64/u) {
			return 0, fmt.Errorf("bad duration %q: too large", s)
		}
		d := time.Duration(n) * u
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("bad duration %q: too large", s)
		}
		total += d
	}
	return total, nil
}

// Format prints d the way a catalog would write it: whole days as
// "90d", anything else in Go's syntax.
func Format(d time.Duration) string {
	if d > 0 && d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
