package catalog_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/rules/catalog"
)

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
		if got := catalog.Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	for p, want := range map[string]bool{"roles/*": true, "a[b]": false, "{a,b}": false, `a\*`: false, "*:*": true} {
		if got := catalog.ValidGlob(p); got != want {
			t.Errorf("ValidGlob(%q) = %v, want %v", p, got, want)
		}
	}
}
