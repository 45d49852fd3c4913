package rules_test

import (
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/rules"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"90d", 90 * rules.Day},
		{"2w", 14 * rules.Day},
		{"36h", 36 * time.Hour},
		{"1w2d3h", 9*rules.Day + 3*time.Hour},
		{"1h30m", 90 * time.Minute},
		{"0s", 0},
		{"250ms", 250 * time.Millisecond},
	} {
		got, err := rules.ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "90", "d", "-1d", "1.5d", "90 days", "1y", "99999999999999999999d", "200000w", "9223372036854775807ns1ns"} {
		if got, err := rules.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * rules.Day:   "90d",
		36 * time.Hour:   "36h",
		90 * time.Minute: "1h30m",
		0:                "0s",
	} {
		if got := rules.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:iam::*:role/deploy-*", "arn:aws:iam::123:role/deploy-prod", true},
		{"arn:aws:iam::*:role/deploy-*", "arn:aws:iam::123:role/path/deploy-prod", false},
		{"*deploy-*", "arn:aws:iam::123:role/path/deploy-prod", true},
		{"projects/*", "projects/a/serviceAccounts/b", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"", "anything", true},
		{"Exact", "exact", false},
		{"caf?-bot", "café-bot", true},
		{"caf??-bot", "café-bot", false},
		{"?-*", "ü-x", true},
		{"*é?", "cafés", true},
		{"*x", "*ax", true}, // a literal "*" in the name does not cancel the wildcard
		{"?*é", "éé", true},
	} {
		if got := rules.Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	for p, want := range map[string]bool{"roles/*": true, "a[b]": false, "{a,b}": false, `a\*`: false, "*:*": true} {
		if got := rules.ValidGlob(p); got != want {
			t.Errorf("ValidGlob(%q) = %v, want %v", p, got, want)
		}
	}
}
