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
// Only one process writes at a time. A writer (Open, OpenConfig) takes an
// OS file lock on "<db>.lock" (non-blocking flock) before it creates,
// migrates or writes anything, and holds it until Close; a second writer,
// in this process or another, gets an error wrapping ErrScanRunning at once
// that names the running scan. The lock dies with its process, so a scan
// killed half-way (kill -9) leaves a "running" row behind: the next writer
// marks it failed ("interrupted"), audits that, and first runs
// PRAGMA quick_check, as it does whenever it finds a write-ahead log left
// behind. Every write is one transaction, so earlier scans are never
// touched by an interrupted one.
//
// A reader (Config.ReadOnly) opens an existing database with SQLite's
// mode=ro — immutable when its directory cannot be written, as for an
// archived copy — and never creates, migrates, locks or writes it, so
// reading works on read-only storage and alongside a running scan.
//
// The store never creates a database over an existing file: an empty
// (0-byte) file, a file that is not SQLite and another program's SQLite
// database wrap ErrNotDatabase, a damaged one ErrDatabaseCorrupt (Corrupt
// tells either from any error). A new database is made under a temporary
// name and linked into place complete.
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
// API and triggers refuse UPDATE and DELETE, as they do for what a finished
// scan stored (snapshot, findings, lifecycle events, owner resolution). Each entry's hash covers the
// previous hash and a canonical encoding of the entry; VerifyAudit recomputes
// the chain and the separately kept head, so an edited, deleted or truncated
// entry is reported. The scan.finish entry records the SHA-256 of what the
// scan stored (snapshot, findings and lifecycle events, owner resolution);
// VerifyStored and VerifyScan compare the stored data with it, so a
// snapshot replaced together with its sha256 column is reported too. A
// chain rebuilt after an edit verifies; Head and CheckAnchor let an anchor
// kept outside the database (signed by the CLI) show it.
//
// Revocation plans, their journal and the links from resolved findings to
// the actions that remediated them are append-only too (revoke.go): one
// apply or rollback runs at a time under LockRevoke, and an action is
// journaled done at most once per phase.
//
// The same Store runs on PostgreSQL (postgres.go, jackc/pgx/v5) when
// Config.Path is a postgres:// DSN: the history lives in the DSN's schema,
// built by migrations_postgres/ (the same numbers, tables and columns as
// migrations/, with PL/pgSQL triggers refusing the same edits), and the
// same queries run through a dialect layer below database/sql
// (postgres_driver.go: placeholders, write serialisation). The file lock
// becomes a session advisory lock held by a writer for its life; read-only
// opens set default_transaction_read_only. FinishScan appends its rows with
// COPY on PostgreSQL and multi-row INSERTs on SQLite (bulk.go). Engine and
// PostgresDSN tell a component that shares the database (the job queue)
// where it is.
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
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	// registers the "sqlite" driver
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
	// ErrNotDatabase: the file exists but is not an nhiscan database: it is
	// empty (0 bytes), not SQLite, or another program's SQLite database.
	ErrNotDatabase = errors.New("not an nhiscan database")
	// ErrDatabaseCorrupt: the database file is damaged (SQLite found a
	// malformed page, or an integrity check failed).
	ErrDatabaseCorrupt = errors.New("database is corrupt")
	// ErrSchemaOld: a read-only open found a database of an older schema,
	// which only a writer migrates.
	ErrSchemaOld = errors.New("database schema is older than this nhiscan")
	// ErrReadOnly: a write was asked of a Store opened ReadOnly.
	ErrReadOnly = errors.New("database opened read-only")
	// ErrIntegrityNotChecked: IntegrityCheck on PostgreSQL, whose pages the
	// server checks itself.
	ErrIntegrityNotChecked = errors.New("page integrity is PostgreSQL's to check (data checksums); not checked by nhiscan")
	// ErrScopeCollected: the scope is still collected, so its findings
	// follow the scans and cannot be retired by hand.
	ErrScopeCollected = errors.New("scope is still collected")
)

//go:embed migrations/*.sql migrations_postgres/*.sql
var migrationFS embed.FS

// migrationDir is where an engine's migrations live: the same numbers and
// the same tables and columns in each (TestMigrationsMatch).
func migrationDir(e Engine) string {
	if e == EnginePostgres {
		return "migrations_postgres"
	}
	return "migrations"
}

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
	// ReadOnly opens an existing database for reading only (SQLite
	// mode=ro, or immutable when its directory cannot be written): it is
	// never created, migrated or written and no lock is taken, so it works
	// on an archived, read-only copy and alongside a running scan.
	ReadOnly bool
}

// Store is an open nhiscan database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string // the SQLite file, or the PostgreSQL DSN
	now  func() time.Time
	pg   *pgInfo // nil on SQLite

	readOnly bool
	lock     unlocker // the single-writer lock, held by a writer until Close

	mu     sync.Mutex
	scanID int64 // the running scan of this Store, 0 when none
}

// unlocker is a held lock: a file lock on SQLite, an advisory lock on
// PostgreSQL.
type unlocker interface{ unlock() error }

// Open opens (creating if needed) the database at path for writing with
// the default configuration. See OpenConfig.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenConfig(ctx, Config{Path: path})
}

// OpenConfig opens the database. A writer (the default) takes the
// single-writer lock before anything else and holds it until Close, so a
// second writer gets ErrScanRunning at once; it then creates the database
// when there is no file (never over an existing one), checks its integrity
// after an unclean shutdown, applies pending migrations and marks scans left
// running by a dead process as failed. A reader (ReadOnly) opens an existing
// database without writing, migrating or locking.
//
// An empty (0-byte) file, a file that is not SQLite or an SQLite database
// that is not nhiscan's wraps ErrNotDatabase; a damaged file wraps
// ErrDatabaseCorrupt (see Corrupt); a reader of an older schema gets
// ErrSchemaOld, anyone of a newer one ErrSchemaTooNew.
func OpenConfig(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	pg := IsPostgres(cfg.Path)
	if !pg && strings.ContainsAny(cfg.Path, "?#") {
		return nil, fmt.Errorf("open store %q: path must not contain '?' or '#'", cfg.Path)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	open := openWriter
	switch {
	case pg && cfg.ReadOnly:
		open = openPostgresReader
	case pg:
		open = openPostgresWriter
	case cfg.ReadOnly:
		open = openReader
	}
	s, err := open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", RedactDSN(cfg.Path), err)
	}
	return s, nil
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
	if s.lock != nil {
		errs = append(errs, s.lock.unlock())
		s.lock = nil
	}
	return errors.Join(errs...)
}

// Path returns the database file path; for PostgreSQL, the DSN without its
// password (RedactDSN).
func (s *Store) Path() string { return RedactDSN(s.path) }

// IntegrityCheck runs PRAGMA integrity_check over the whole file; damage
// wraps ErrDatabaseCorrupt. It reads every page, so it takes a while on a
// large database. On PostgreSQL it returns ErrIntegrityNotChecked: the
// server guards its own pages (data checksums, write-ahead log), and
// nhiscan checks only what it stored (VerifyAudit, VerifyStored).
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.pg != nil {
		return ErrIntegrityNotChecked
	}
	return checkIntegrity(ctx, s.db, "integrity_check")
}

// ReadOnly reports whether the Store was opened read-only.
func (s *Store) ReadOnly() bool { return s.readOnly }

// writable is nil unless the Store was opened read-only.
func (s *Store) writable(op string) error {
	if s.readOnly {
		return fmt.Errorf("%s: %w", op, ErrReadOnly)
	}
	return nil
}

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(eng Engine) ([]migration, error) {
	dir := migrationDir(eng)
	entries, err := fs.ReadDir(migrationFS, dir)
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
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
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
	ms, err := loadMigrations(EngineSQLite)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.Engine())
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
