//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCLIRefusesInputsThatAreNotRegularFiles: a device or a named pipe
// given as the catalog, the HR CSV, the configuration or the inventory is
// refused at once (a FIFO is never opened, so nothing blocks; /dev/zero is
// never read, so memory stays flat), exit 2, and nothing is written.
func TestCLIRefusesInputsThatAreNotRegularFiles(t *testing.T) {
	c := newCLI(t)
	fifo := filepath.Join(c.dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	hr := filepath.Join(c.dir, "hr.yaml")
	writeFile(t, hr, "people_csv: /dev/zero\n")
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"scan", db, "--catalog", "/dev/zero"}, nil, "/dev/zero: read /dev/zero: a device, not a regular file"},
		{[]string{"scan", db, "--catalog", fifo}, nil, fifo + ": read " + fifo + ": a named pipe (FIFO), not a regular file"},
		{[]string{"scan", db, "--catalog", hr}, nil, hr + ":1:13: read /dev/zero: a device, not a regular file"},
		{[]string{"scan", db, cat, "--inventory", "/dev/zero"}, nil, "nhiscan: --inventory /dev/zero: a device, not a regular file"},
		{[]string{"scan", db, cat, "--inventory", fifo}, nil, "nhiscan: --inventory " + fifo + ": a named pipe (FIFO), not a regular file"},
		{[]string{"scan", db, cat, "--config", fifo}, nil, "nhiscan: --config: read configuration " + fifo + ": a named pipe (FIFO), not a regular file"},
		{[]string{"findings", db}, map[string]string{"NHISCAN_CONFIG": "/dev/zero"}, "nhiscan: NHISCAN_CONFIG: read configuration /dev/zero: a device, not a regular file"},
		{[]string{"catalog", "validate", fifo}, nil, fifo + ": read " + fifo + ": a named pipe (FIFO), not a regular file"},
	} {
		c.env = tc.env
		if c.env == nil {
			c.env = map[string]string{}
		}
		code, out, errs := c.run(tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, code, exitUsage, out, errs)
		}
		if !strings.Contains(errs, tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, errs)
		}
		if _, err := os.Stat(c.db()); err == nil {
			t.Fatalf("%v: the database was created", tc.args)
		}
	}
}
