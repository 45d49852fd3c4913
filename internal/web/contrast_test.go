package web_test

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestContrast: the stylesheet's text colours reach the WCAG AA contrast
// ratio (4.5:1) on the backgrounds they are used on.
func TestContrast(t *testing.T) {
	css, err := os.ReadFile("static/review.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"white": "#ffffff", "child": "#fbfcfd"}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-f]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{
		{"fg", "bg"}, {"fg", "panel"}, {"fg", "child"}, {"muted", "bg"}, {"muted", "panel"}, {"muted", "child"},
		{"accent", "bg"}, {"accent", "panel"}, {"accent", "accent-bg"}, {"white", "accent"},
		{"ok", "ok-bg"}, {"warn", "warn-bg"}, {"warn", "bg"}, {"warn", "panel"}, {"bad", "bad-bg"}, {"bad", "bg"}, {"bad", "panel"},
		{"fg", "warn-bg"}, {"fg", "bad-bg"},
	}
	for _, p := range pairs {
		fg, bg := vars[p[0]], vars[p[1]]
		if fg == "" || bg == "" {
			t.Fatalf("colour %s or %s is not defined in review.css", p[0], p[1])
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("%s (%s) on %s (%s): contrast %.2f, want at least 4.5", p[0], fg, p[1], bg, r)
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}
