package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/store/storetest"
)

// TestCLIOnPostgres: the commands run on a PostgreSQL history named by
// NHISCAN_DATABASE as they do on an SQLite file, and the DSN's password
// never reaches the output.
func TestCLIOnPostgres(t *testing.T) {
	u, err := url.Parse(storetest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	// The test server trusts local connections; the password is there to
	// be kept out of every message.
	u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	c := newCLI(t)
	c.env["NHISCAN_DATABASE"] = u.String()
	cat := "--catalog=" + testdata("catalog.yaml")
	var all strings.Builder
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := c.run(args...)
		all.WriteString(out + errs)
		if code != want {
			t.Fatalf("%s = %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	if out := run(exitUsage, "findings"); !strings.Contains(out, "holds no nhiscan history") {
		t.Errorf("findings before any scan: %s", out)
	}
	run(exitOK, "scan", cat, "--inventory", testdata("scan1.json"))
	run(exitOK, "scan", cat, "--inventory", testdata("scan2.json"))
	if out := run(exitOK, "scans"); !strings.Contains(out, "2") {
		t.Errorf("scans: %s", out)
	}
	run(exitOK, "findings", "--format", "csv")
	if out := run(exitOK, "audit", "verify"); !strings.Contains(out, "audit log intact") || !strings.Contains(out, "not checked by nhiscan") {
		t.Errorf("audit verify: %s", out)
	}
	if strings.Contains(all.String(), "s3cret-pw") {
		t.Errorf("the DSN's password was printed:\n%s", all.String())
	}
}
