package main

import (
	"strings"
	"testing"
)

func TestCompletion(t *testing.T) {
	c := newCLI(t)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if code, out, errs := c.run("completion", sh); code != exitOK || !strings.Contains(out, "nhiscan") {
			t.Errorf("completion %s = %d\n%s", sh, code, errs)
		}
	}
	// Cobra's hidden __complete command answers the shell scripts.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "findings", "--family", ""}, []string{"orphaned", "owner-moved", "risky-config"}},
		{[]string{"__complete", "findings", "--severity", ""}, []string{"critical", "info"}},
		{[]string{"__complete", "findings", "--rule", "dormant-"}, []string{"dormant-identity", "dormant-credential"}},
		{[]string{"__complete", "scan", "--fail-on", ""}, []string{"high"}},
		{[]string{"__complete", "diff", "--format", ""}, []string{"table", "json", "csv"}},
		{[]string{"__complete", "au"}, []string{"audit"}},
	} {
		code, out, errs := c.run(tc.args...)
		if code != exitOK {
			t.Errorf("%v = %d\n%s", tc.args, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w+"\n") && !strings.Contains(out, w+"\t") {
				t.Errorf("%v lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}
