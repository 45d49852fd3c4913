package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// TestUsageErrorsAreTyped: every argument, flag and subcommand mistake
// exits 2 through the usageError type, and cobra's help still exits 0.
func TestUsageErrorsAreTyped(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, exitUsage, `unknown command "bogus" for "nhiscan"`},
		{[]string{"scna"}, exitUsage, `(did you mean scan, scans?)`},
		{[]string{"catalog", "bogus"}, exitUsage, `unknown command "bogus" for "nhiscan catalog"`},
		{[]string{"export", "evidnce"}, exitUsage, `did you mean evidence?`},
		{[]string{"scans", "extra"}, exitUsage, `unknown command "extra" for "nhiscan scans"`},
		{[]string{"diff", "1", "2", "3"}, exitUsage, "accepts between 0 and 2 arg(s)"},
		{[]string{"findings", "--scan", "x"}, exitUsage, `invalid argument "x" for "--scan"`},
		{[]string{"findings", "--scan"}, exitUsage, "flag needs an argument"},
		{[]string{"completion", "bash", "extra"}, exitUsage, `unknown command "extra"`},
		{[]string{"audit"}, exitOK, "Available Commands"},
		{[]string{}, exitOK, "Available Commands"},
	} {
		code, out, errs := c.run(tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%q = %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}

// TestRuntimeErrorSayingInvalidArgumentExits3: the exit code comes from the
// error's type, never its text. A collector failing with EINVAL ("invalid
// argument") is a runtime error, exit 3, however it is wrapped; a wrapped
// usageError is still exit 2.
func TestRuntimeErrorSayingInvalidArgumentExits3(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var stderr bytes.Buffer
	a := &app{stdout: io.Discard, stderr: &stderr, now: func() time.Time { return now }, getenv: func(string) string { return "" },
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a.prog = a.newProgress()
	st, err := a.openStore(context.Background(), filepath.Join(dir, "nhiscan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat, err := catalog.Load(now, testdata("catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	einval := &os.PathError{Op: "read", Path: "/run/secrets/token", Err: syscall.EINVAL}
	_, err = a.scanOnce(context.Background(), st, cat, now, "test", a.collectAll([]collectors.Collector{failing{nhi.GitHub, einval}}))
	if err == nil || !strings.Contains(err.Error(), "invalid argument") {
		t.Fatalf("scanOnce = %v, want the collector's invalid argument", err)
	}
	if code := a.exit(err); code != exitError {
		t.Errorf("runtime error %q exits %d, want %d", err, code, exitError)
	}
	if code := a.exit(fmt.Errorf("open: %w", usagef("--db %s is not an nhiscan database", "x"))); code != exitUsage {
		t.Errorf("a wrapped usage error exits %d, want %d", code, exitUsage)
	}
}

// failing is a collector that fails outright with err.
type failing struct {
	p   nhi.Provider
	err error
}

func (f failing) Provider() nhi.Provider                         { return f.p }
func (f failing) Collect(context.Context) (nhi.Inventory, error) { return nhi.Inventory{}, f.err }

// TestFailedCollectorLoggedOnceAndNamedOnce: a collector that fails is
// logged once, and the scan's error names its provider once even when the
// collector's own message already starts with it.
func TestFailedCollectorLoggedOnceAndNamedOnce(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	a := &app{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return now }, getenv: func(string) string { return "" },
		log: slog.New(slog.NewTextHandler(&logs, nil))}
	a.prog = a.newProgress()
	cs := []collectors.Collector{
		failing{nhi.AWS, fmt.Errorf("aws: list organization accounts: %w", collectors.ErrDenied)},
		failing{nhi.GCP, errors.New("credentials file gcp.json: no such file")},
	}
	_, err := a.collectAll(cs)(context.Background())
	want := "every collector failed: aws: list organization accounts: access denied; gcp: credentials file gcp.json: no such file"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant    %s", err, want)
	}
	for _, p := range []string{"provider=aws", "provider=gcp"} {
		if n := strings.Count(logs.String(), p+" err="); n != 1 {
			t.Errorf("%s failure logged %d times, want once:\n%s", p, n, logs.String())
		}
	}
	// One collector of two failing leaves a provider-wide gap, classified
	// by the shared classifier.
	a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	inv, err := a.collectAll([]collectors.Collector{cs[0], gapOnCancel{p: nhi.GitHub, scope: "acme"}})(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Gaps) != 1 || inv.Gaps[0].Kind != nhi.GapDenied || inv.Gaps[0].Scope != "" {
		t.Errorf("gaps %+v, want one provider-wide denied gap", inv.Gaps)
	}
}
