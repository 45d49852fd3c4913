package duration_test

import (
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"90d", 90 * duration.Day},
		{"2w", 14 * duration.Day},
		{"36h", 36 * time.Hour},
		{"1w2d3h", 9*duration.Day + 3*time.Hour},
		{"1h30m", 90 * time.Minute},
		{"0s", 0},
		{"250ms", 250 * time.Millisecond},
	} {
		got, err := duration.Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "90", "d", "-1d", "1.5d", "90 days", "1y", "99999999999999999999d", "200000w", "9223372036854775807ns1ns"} {
		if got, err := duration.Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * duration.Day: "90d",
		36 * time.Hour:    "36h",
		90 * time.Minute:  "1h30m",
		0:                 "0s",
	} {
		if got := duration.Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
	}
}
