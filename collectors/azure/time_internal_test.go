package azure

import (
	"testing"
	"time"
)

// TestParseTime: the Graph time forms, including the one-digit hour offset
// the beta sign-in report examples show ("2021-03-01T00:00:00-8:00").
func TestParseTime(t *testing.T) {
	cases := map[string]time.Time{
		"2021-04-01T00:00:00Z":             time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC),
		"2021-03-01T00:00:00-8:00":         time.Date(2021, 3, 1, 8, 0, 0, 0, time.UTC),
		"2021-03-01T00:00:00+5:30":         time.Date(2021, 2, 28, 18, 30, 0, 0, time.UTC),
		"2021-03-18T00:00:00-08:00":        time.Date(2021, 3, 18, 8, 0, 0, 0, time.UTC),
		"2021-03-18T10:11:12.1234567Z":     time.Date(2021, 3, 18, 10, 11, 12, 123456700, time.UTC),
		"2021-03-18T10:11:12.1234567":      time.Date(2021, 3, 18, 10, 11, 12, 123456700, time.UTC),
		"2021-03-18T10:11:12.1234567-8:00": time.Date(2021, 3, 18, 18, 11, 12, 123456700, time.UTC),
	}
	for in, want := range cases {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v UTC", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "2021-03-01T00:00:00-8", "2021-13-01T00:00:00Z"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) accepted", bad)
		}
	}
}
