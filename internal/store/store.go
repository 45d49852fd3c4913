// Package store keeps nhiscan's history in one SQLite file (modernc.org/sqlite,
// pure Go, no cgo): scans, the inventory snapshot of each scan, findings with
// their lifecycle, certifications, the GitHub ETag cache and a hash-chained,
// append-only audit log.
//
// The database runs in WAL mode with a busy timeout and foreign keys on. Its
// schema comes from embedded, forward-only migrations (migrations/NNNN_name.sql)
// applied one transaction each and recorded in schema_migrations; a database
// written by a newer nhiscan is refused with ErrSchemaTooNew.
//
// Only one scan writes at a time. BeginScan takes an OS file lock on
// "<db>.lock" (non-blocking flock) and holds it until FinishScan or FailScan;
// a second BeginScan, in this process or another, gets an error wrapping
// ErrScanRunning that names the running scan. The lock dies with its process,
// so a scan killed half-way (kill -9) leaves a "running" row behind: the next
// Open or BeginScan that obtains the lock marks it failed ("interrupted") and
// audits that. Every write is one transaction, so earlier scans are never
// touched by an interrupted one.
//
// FinishScan stores the snapshot (canonical JSON from nhi.Encode and its
// SHA-256), the scopes, gaps and coverage matrix, every finding of the
// scan, and the lifecycle of findings keyed by fingerprint. The lifecycle
// is not the store's to judge: FinishScan hands the findings as last
// recorded, the scan's findings and its coverage to the lifecycle function
// it is given (analyzer.Lifecycle) and persists exactly the transitions it
// returns — new, seen again, reopened, suppressed, unsuppressed, resolved
// (with the scan that resolved it), or kept and marked not re-evaluated
// with the facet and gap that hid it, for a finding whose facets the scan
// did not observe: a gap never looks like remediation.
//
// The audit log is append-only by construction: there is no update or delete
// API and triggers refuse UPDATE and DELETE. Each entry's hash covers the
// previous hash and a canonical encoding of the entry; VerifyAudit recomputes
// the chain and the separately kept head, so an edited, deleted or truncated
// entry is reported.
//
// Revocation plans, their journal and the links from resolved findings to
// the actions that remediated them are append-only too (revoke.go): one
// apply or rollback runs at a time under LockRevoke, and an action is
// journaled done at most once per phase.
//
// The store never holds a secret value: inventories and findings are metadata
// only, and the store logs nothing. All times are stored as RFC 3339 UTC text
// and read back as UTC.
//
// Usage:
//
//	st, err := store.Open(ctx, store.DefaultPath)
//	id, err := st.BeginScan(ctx, store.ScanMeta{Started: now, ToolVersion: v})
//	err = st.FinishScan(ctx, id, store.FinishInput{Ended: now2, Inventory: inv, Findings: fs})
//	open, err := st.Findings(ctx, store.FindingFilter{Status: store.FindingOpen})
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultPath is the database file used when none is configured.
const DefaultPath = "nhiscan.db"

// DefaultBusyTimeout is how long a write waits for another writer's
// transaction before it gives up. It is long enough for FinishScan of a
// large scan (see BenchmarkFinishScan), so an Audit written meanwhile waits
// rather than fails.
const DefaultBusyTimeout = 30 * time.Second

// Errors callers may test with errors.Is.
var (
	// ErrScanRunning: another scan holds the single-writer lock.
	ErrScanRunning = errors.New("another scan is running")
	// ErrSchemaTooNew: the database was migrated by a newer nhiscan.
	ErrSchemaTooNew = errors.New("database schema is newer than this nhiscan")
	// ErrNotFound: no such scan (or no scan of the kind asked for).
	ErrNotFound = errors.New("not found")
	// ErrAuditBroken: the audit chain does not verify.
	ErrAuditBroken = errors.New("audit log chain broken")
	// ErrCorrupt: stored data does not match its recorded hash.
	ErrCorrupt = errors.New("stored data does not match its hash")
	// ErrNotDatabase: the file exists but is not an SQLite database.
	ErrNotDatabase = errors.New("not an SQLite database")
	// ErrScopeCollected: the scope is still collected, so its findings
	// follow the scans and cannot be retired by hand.
	ErrScopeCollected = errors.New("scope is still collected")
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Config configures Open. Only Path is required.
type Config struct {
	// Path is the database file; DefaultPath when empty. The lock file is
	// Path + ".lock".
	Path string
	// Now returns the current time; time.Now when nil. It stamps migrations
	// and the end of scans found interrupted at Open or BeginScan.
	Now func() time.Time
	// BusyTimeout is SQLite's busy timeout; DefaultBusyTimeout when zero.
	BusyTimeout time.Duration
}

// Store is an open nhiscan database. It is safe for concurrent use.
type Store struct {
	db       *sql.DB
	path     string
	lockPath string
	now      func() time.Time

	mu     sync.Mutex
	lock   *fileLock // held while a scan of this Store runs
	scanID int64     // the running scan of this Store, 0 when none
}

// Open opens (creating if needed) the database at path with the default
// configuration. See OpenConfig.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenConfig(ctx, Config{Path: path})
}

// OpenConfig opens (creating if needed) the database, applies pending
// migrations and, when no scan holds the lock, marks scans left running by a
// dead process as failed.
func OpenConfig(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if strings.ContainsAny(cfg.Path, "?#") {
		return nil, fmt.Errorf("open store %q: path must not contain '?' or '#'", cfg.Path)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	// The history maps every machine identity, its owners and weaknesses:
	// a new database is readable by its owner only (SQLite gives the WAL
	// and shared-memory files the database file's mode).
	if f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("open store %q: %w", cfg.Path, err)
	}
	dsn := cfg.Path + "?" + strings.Join([]string{
		"_pragma=busy_timeout(" + strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(FULL)",
		"_pragma=cache_size(-32768)", // 32 MiB: a 100k-finding scan stays in cache
		"_txlock=immediate",
	}, "&")
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", cfg.Path, err)
	}
	s := &Store{db: db, path: cfg.Path, lockPath: cfg.Path + ".lock", now: cfg.Now}
	if err := s.init(ctx); err != nil {
		db.Close()
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_NOTADB {
			return nil, fmt.Errorf("open store %q: %w", cfg.Path, ErrNotDatabase)
		}
		return nil, fmt.Errorf("open store %q: %w", cfg.Path, err)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	l, err := tryLock(s.lockPath)
	if errors.Is(err, errLocked) {
		return nil // a live scan holds it; its running row is not ours to touch
	}
	if err != nil {
		return err
	}
	defer l.unlock()
	return s.recoverInterrupted(ctx)
}

// Close fails the scan this Store is running, if any, releases the lock and
// closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	id := s.scanID
	s.mu.Unlock()
	var errs []error
	if id != 0 {
		errs = append(errs, s.FailScan(context.Background(), id, "store closed during scan", s.now()))
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// IntegrityCheck runs PRAGMA integrity_check and reports its findings.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	return fmt.Errorf("integrity check: %s", strings.Join(msgs, "; "))
}

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := range ms {
		if ms[i].version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: versions must run 1, 2, 3… without gaps", ms[i].version, ms[i].name)
		}
	}
	return ms, nil
}

// SchemaVersion returns the newest migration version this binary carries.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, m, len(ms)); err != nil {
			return err
		}
	}
	// A database with no pending migration is still checked for being too new.
	_, err = currentVersion(ctx, s.db, len(ms))
	return err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func currentVersion(ctx context.Context, q queryer, latest int) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if v > latest {
		return v, fmt.Errorf("%w: database is at version %d, this nhiscan knows up to %d", ErrSchemaTooNew, v, latest)
	}
	return v, nil
}

// applyMigration applies m in its own transaction unless it is already
// applied. The version is re-read inside the (immediate) transaction, so two
// processes opening a new database at once do not both apply it.
func (s *Store) applyMigration(ctx context.Context, m migration, latest int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
	}
	defer tx.Rollback()
	v, err := currentVersion(ctx, tx, latest)
	if err != nil {
		return err
	}
	if v >= m.version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, formatTime(s.now())); err != nil {
		return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
	}
	return nil
}

// Migration is one applied schema migration.
type Migration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// Migrations lists the applied migrations in version order.
func (s *Store) Migrations(ctx context.Context) ([]Migration, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	defer rows.Close()
	var out []Migration
	for rows.Next() {
		var m Migration
		var at string
		if err := rows.Scan(&m.Version, &m.Name, &at); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		if m.AppliedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction, so stored text
// sorts in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}
