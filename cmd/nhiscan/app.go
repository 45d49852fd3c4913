package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/textsafe"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Exit codes.
const (
	exitOK       = 0
	exitFindings = 1 // findings at or above --fail-on, or a failed verification
	exitUsage    = 2 // usage or configuration error; nothing was written
	exitError    = 3 // a runtime error (database, every collector failed…)
)

// usageError marks errors that exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// failError exits 1 after its message: a gate or a verification failed.
type failError struct{ msg string }

func (e failError) Error() string { return e.msg }

// app is one invocation's environment. Tests build it with their own
// writers, clock and environment.
type app struct {
	stdout, stderr io.Writer
	now            func() time.Time
	getenv         func(string) string
	// isTerminal reports whether stderr is a terminal (progress display).
	isTerminal bool

	// global flags
	configPath string
	dbPath     string
	logFormat  string
	verbose    bool
	asOf       string

	log *slog.Logger
	// etags is the GitHub collector's conditional-request cache, backed by
	// the store once it is open.
	etags etagCache
	// prog draws the terminal progress display.
	prog *progress
	// configFlags are the running command's flags that override keys of
	// the configuration (serve's --listen...), validated as the file is.
	configFlags []config.Flag
	// served, when set, is told the address serve listens on (tests).
	served func(addr string)
	// outsideBaseline says whether an identity holds a grant outside its
	// catalog role's baseline: the AWS collector's default budget for
	// service last accessed data (set by scan from the catalog).
	outsideBaseline func(*nhi.Identity) bool
	// hangups, when set, replaces SIGHUP for serve's reload (tests).
	hangups <-chan os.Signal
	// scanBegun, when set, is told the id of the scan scanOnce began (the
	// scan_id of the log lines).
	scanBegun func(int64)
	// calls, when set, hears every provider API call (serve's metrics).
	calls collectors.CallObserver
	// fleetStore, when set, is the store fleet finalisations use (serve's
	// own, which holds the writer lock); fleetStoreMu takes turns on it.
	fleetStore   *store.Store
	fleetStoreMu *sync.Mutex
	// lockWait, when set, is how long opening the store for writing waits
	// for another writer (a scan from cron, a CLI command) to finish:
	// serve waits where a command run by hand says so at once.
	lockWait time.Duration
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, now: time.Now, getenv: os.Getenv}
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			a.isTerminal = true
		}
	}
	return a.run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	return a.exit(root.ExecuteContext(ctx))
}

// exit prints err and returns its exit code. The code comes from the
// error's type, never from its text: a runtime error that happens to say
// "invalid argument" is still a runtime error.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var fe failError
	var ce *catalog.Errors
	var cfe *config.Errors
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(a.stderr, "catalog has %d problem(s):\n%s\n", len(*ce), termLines(ce.Error()))
		return exitUsage
	case errors.As(err, &cfe):
		fmt.Fprintf(a.stderr, "configuration has %d problem(s):\n%s\n", len(*cfe), termLines(cfe.Error()))
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "nhiscan: %s\n", termLines(err.Error()))
		return exitUsage
	case errors.As(err, &fe):
		fmt.Fprintf(a.stderr, "nhiscan: %s\n", termLines(err.Error()))
		return exitFindings
	case store.Corrupt(err):
		fmt.Fprintf(a.stderr, "nhiscan: the database is corrupt: %s\n"+
			"nhiscan never repairs or re-creates it: restore it from a backup ('nhiscan audit verify' runs a full integrity check)\n",
			termLines(err.Error()))
		return exitError
	}
	fmt.Fprintf(a.stderr, "nhiscan: %s\n", termLines(err.Error()))
	return exitError
}

// termLines escapes control characters line by line: error messages may
// quote collected names, file contents or API responses, which must not
// drive the terminal, while multi-line error lists stay one problem a line.
func termLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = reports.TermText(l)
	}
	return strings.Join(lines, "\n")
}

// typeUsageErrors makes every argument error of the command tree a
// usageError: each command's positional-argument check is wrapped, and a
// command that only groups others rejects an unknown subcommand itself
// (cobra would print help and exit 0, or return an untyped error). Flag
// errors are typed by the root's flag error function.
func typeUsageErrors(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = unknownSubcommand
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	if check := cmd.Args; check != nil {
		cmd.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		typeUsageErrors(sub)
	}
}

// unknownSubcommand rejects any argument of a command that only groups
// subcommands, suggesting the closest one.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
	}
	return errors.New(msg)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "nhiscan",
		Short: "Govern non-human identities against an owned-role catalog",
		Long: `nhiscan inventories non-human identities (service accounts, IAM users and
roles, keys, Entra applications and service principals, GitHub Apps, deploy
keys and tokens) across AWS, Azure/Entra, GCP and GitHub, compares them with
the owned-role catalog, and reports orphaned, dormant, over-privileged,
long-lived and unmapped identities and drift.

Exit codes: 0 ok; 1 findings at or above --fail-on (or a failed verification);
2 usage or configuration error (nothing written); 3 runtime error (a corrupt
database, another scan running…).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "configuration file (default: $NHISCAN_CONFIG, else ./nhiscan.yaml if present)")
	pf.StringVar(&a.dbPath, "db", "", "SQLite database file or postgres:// DSN (default: config 'database', else nhiscan.db)")
	pf.StringVar(&a.logFormat, "log-format", "", "log format: text or json (default text)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log progress and API activity")
	pf.StringVar(&a.asOf, "as-of", "", "evaluation time, RFC 3339 or YYYY-MM-DD (default now); a future date forecasts what will be overdue")
	completeValues(root, "log-format", func() []string { return []string{"text", "json"} })
	root.AddCommand(a.scanCmd(), a.findingsCmd(), a.diffCmd(), a.exportCmd(), a.reportCmd(), a.catalogCmd(),
		a.auditCmd(), a.certifyCmd(), a.scansCmd(), a.demoCmd(), a.versionCmd())
	root.AddCommand(a.campaignCmd(), a.revokeCmd(), a.serveCmd())
	root.AddCommand(a.reduceCmd())
	root.AddCommand(a.workerCmd())
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	// Cobra adds its help and completion commands as it executes; add them
	// now (after SetOut, which the completion command captures) so their
	// argument errors are typed too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	typeUsageErrors(root)
	return root
}

// setup configures logging once flags are parsed, and checks the global
// flags every command accepts.
func (a *app) setup() error {
	format, from := a.logFormat, "--log-format"
	if format == "" {
		format, from = a.getenv("NHISCAN_LOG_FORMAT"), "NHISCAN_LOG_FORMAT"
	}
	a.prog = a.newProgress()
	if err := a.setLogger(format, from); err != nil {
		return err
	}
	// A bad --as-of is a usage error even where the command does not
	// evaluate anything.
	if _, err := a.evalTime(); err != nil {
		return err
	}
	return nil
}

// setLogger sets the logger for a format: text (default) or json. from
// names where the format came from (a flag, a variable, a file's key).
func (a *app) setLogger(format, from string) error {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		// slog escapes what JSON requires, not C1 or bidi controls: the
		// log goes through textsafe like every other output.
		a.log = slog.New(slog.NewJSONHandler(textsafe.NewJSONWriter(a.stderr), opts))
	default:
		return usagef("%s %q: want text or json", from, format)
	}
	return nil
}

// loadConfig reads the configuration: --config, else $NHISCAN_CONFIG, else
// ./nhiscan.yaml when it exists, else defaults.
func (a *app) loadConfig() (config.Config, error) {
	path, from := a.configPath, "--config"
	if path == "" {
		path, from = a.getenv("NHISCAN_CONFIG"), "NHISCAN_CONFIG"
	}
	if path == "" {
		if _, err := os.Stat("nhiscan.yaml"); err == nil {
			path, from = "nhiscan.yaml", ""
		}
	}
	cfg, err := config.LoadWithFlags(path, a.getenv, a.configFlags)
	var ce *config.Errors
	switch {
	case errors.As(err, &ce):
		return config.Config{}, usageError{err}
	case err != nil && from != "":
		// An unreadable file: say which flag or variable named it.
		return config.Config{}, usagef("%s: %v", from, err)
	case err != nil:
		return config.Config{}, usageError{err}
	}
	// The file's log_format (NHISCAN_LOG_FORMAT overrides it) applies
	// unless --log-format was given; it was validated with the file.
	if a.logFormat == "" && cfg.LogFormat != "" {
		if err := a.setLogger(cfg.LogFormat, "log_format"); err != nil {
			return config.Config{}, err
		}
	}
	if a.dbPath != "" {
		cfg.Database = a.dbPath
	}
	if cfg.Database == "" {
		cfg.Database = "nhiscan.db"
	}
	return cfg, nil
}

// evalTime is --as-of, or now.
func (a *app) evalTime() (time.Time, error) {
	if a.asOf == "" {
		return a.now().UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, a.asOf); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("--as-of %q: want RFC 3339 (2026-11-26T00:00:00Z) or a date (2026-11-26)", a.asOf)
}

// configAndCatalog loads what a command that evaluates needs, in order:
// the configuration, the evaluation time (--as-of) and the catalog (paths,
// else the configuration's).
func (a *app) configAndCatalog(paths []string) (config.Config, *catalog.Catalog, time.Time, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return config.Config{}, nil, time.Time{}, err
	}
	at, err := a.evalTime()
	if err != nil {
		return config.Config{}, nil, time.Time{}, err
	}
	cat, err := a.loadCatalog(cfg, paths, at)
	if err != nil {
		return config.Config{}, nil, time.Time{}, err
	}
	return cfg, cat, at, nil
}

// loadCatalog loads the catalog from paths (flags) or the configuration,
// applying the configuration's threshold overrides.
func (a *app) loadCatalog(cfg config.Config, paths []string, at time.Time) (*catalog.Catalog, error) {
	if len(paths) == 0 {
		paths = cfg.Catalog
	}
	if len(paths) == 0 {
		return nil, usagef("no catalog: pass --catalog PATH or set 'catalog' in the configuration")
	}
	cat, err := catalog.Load(at, paths...)
	if err != nil {
		return nil, err
	}
	applyThresholds(cat, cfg.Thresholds)
	return cat, nil
}

func applyThresholds(cat *catalog.Catalog, t config.Thresholds) {
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	set(&cat.Defaults.DormantAfter, t.DormantAfter)
	set(&cat.Defaults.MaxCredentialAge, t.MaxCredentialAge)
	set(&cat.Defaults.NeverUsedGrace, t.NeverUsedGrace)
	set(&cat.Defaults.ExpiringSoon, t.ExpiringSoon)
	set(&cat.Defaults.UsageFreshness, t.UsageFreshness)
}

func parseSeverity(s string) (nhi.Severity, error) {
	if s == "" {
		return "", nil
	}
	sev, err := nhi.ParseSeverity(s)
	if err != nil {
		return "", usageError{err}
	}
	return sev, nil
}

// printJSON writes v to stdout as indented JSON in which no control or bidi
// character is raw (textsafe.JSON: \u escapes, the same strings when read).
func (a *app) printJSON(v any) error {
	w := textsafe.NewJSONWriter(a.stdout)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return w.Flush()
}
