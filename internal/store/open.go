package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// How a database file is opened. Nothing here ever creates a database over
// a file that exists: an empty (0-byte) file, a file that is not SQLite and
// an SQLite database that is not nhiscan's are refused as they are. A new
// database is built under a temporary name and linked into place only when
// its schema is complete, so nhiscan never leaves an empty or half-made
// database behind for a later open to mistake for one.

// NotDatabaseError says why a file is not an nhiscan database. It wraps
// ErrNotDatabase.
type NotDatabaseError struct {
	Reason string
	empty  bool // a PostgreSQL schema without tables, which a writer fills
}

func (e *NotDatabaseError) Error() string { return ErrNotDatabase.Error() + ": " + e.Reason }

// Unwrap returns ErrNotDatabase.
func (e *NotDatabaseError) Unwrap() error { return ErrNotDatabase }

func notDB(format string, a ...any) error {
	return &NotDatabaseError{Reason: fmt.Sprintf(format, a...)}
}

// sqliteHeader is the first 16 bytes of every SQLite 3 database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// checkFile checks that path is a regular file that starts like an SQLite
// database. It reads only the header.
func checkFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return notDB("it is not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() == 0 {
		return notDB("the file is empty (0 bytes); nhiscan never leaves an empty database behind, so it was " +
			"truncated or made by something else: restore it from a backup, or remove it to start a new history")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		return notDB("the file does not start with the SQLite header (it is another kind of file, or its header is damaged)")
	}
	return nil
}

// dsn builds the SQLite URI for path with SQLite's own parameters (mode,
// immutable) and the driver's pragmas. A "file:" URI makes SQLite honour
// mode=ro and mode=rw, which never create a missing file.
func dsn(path string, sqliteParams []string, busy time.Duration, pragmas ...string) string {
	params := append([]string(nil), sqliteParams...)
	params = append(params, "_pragma=busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	for _, p := range pragmas {
		params = append(params, "_pragma="+p)
	}
	u := url.URL{Path: filepath.ToSlash(path)}
	return "file:" + u.EscapedPath() + "?" + strings.Join(params, "&")
}

// writePragmas are the pragmas of a writer's connections.
var writePragmas = []string{
	"journal_mode(WAL)",
	"foreign_keys(1)",
	"synchronous(FULL)",
	"cache_size(" + strconv.Itoa(writerCacheKiB) + ")",
}

// writerCacheKiB is a writer connection's page cache in KiB (negative: a
// size, not a page count): 32 MiB, a 100k-finding scan stays in cache.
const writerCacheKiB = -32 * 1024

func writerDSN(path string, busy time.Duration) string {
	return dsn(path, []string{"mode=rw"}, busy, writePragmas...) + "&_txlock=immediate"
}

// sqliteCode is the primary result code of an SQLite error, 0 for other
// errors.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// Corrupt reports whether err shows the database file is damaged: it wraps
// ErrDatabaseCorrupt, or SQLite reported a malformed database image.
func Corrupt(err error) bool {
	return errors.Is(err, ErrDatabaseCorrupt) || sqliteCode(err) == sqlite3.SQLITE_CORRUPT
}

// classify turns SQLite's "not a database" and "malformed" results into the
// store's sentinels.
func classify(err error) error {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_NOTADB:
		return &NotDatabaseError{Reason: "SQLite: " + err.Error()}
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%w: %w", ErrDatabaseCorrupt, err)
	}
	return err
}

// checkIntegrity runs PRAGMA integrity_check or quick_check; damage wraps
// ErrDatabaseCorrupt and quotes SQLite's first findings.
func checkIntegrity(ctx context.Context, db *sql.DB, pragma string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA "+pragma+"(20)")
	if err != nil {
		return fmt.Errorf("%s: %w", pragma, classify(err))
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("%s: %w", pragma, classify(err))
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", pragma, classify(err))
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	return fmt.Errorf("%w: %s found: %s", ErrDatabaseCorrupt, pragma, strings.Join(msgs, "; "))
}

// openWriter opens the database for writing. The single-writer lock is
// taken first, before anything is created, migrated or written, and held
// until Close: a second writer, in this process or another, gets
// ErrScanRunning at once.
func openWriter(ctx context.Context, cfg Config) (*Store, error) {
	// A file that is plainly not a database is refused before the lock
	// file is made next to it; under the lock it is checked again.
	if err := checkFile(cfg.Path); err == nil {
		if err := checkOwnRO(ctx, cfg); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	lockPath := cfg.Path + ".lock"
	l, err := tryLock(lockPath)
	if errors.Is(err, errLocked) {
		return nil, lockHeldErr(ctx, cfg.Path, lockPath)
	}
	if err != nil {
		return nil, err
	}
	st, err := openLocked(ctx, cfg)
	if err != nil {
		l.unlock()
		return nil, err
	}
	st.lock = l
	return st, nil
}

func openLocked(ctx context.Context, cfg Config) (*Store, error) {
	err := checkFile(cfg.Path)
	if errors.Is(err, fs.ErrNotExist) {
		err = create(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	// Only nhiscan's own database is opened for writing: the writer's
	// pragmas would already change another program's file (journal mode).
	if err := checkOwnRO(ctx, cfg); err != nil {
		return nil, err
	}
	// A write-ahead log with content that no writer holds was left by a
	// process that did not close the database: an unclean shutdown.
	unclean := ""
	if fi, err := os.Stat(cfg.Path + "-wal"); err == nil && fi.Size() > 0 {
		unclean = "a write-ahead log left behind"
	}
	db, err := sql.Open("sqlite", writerDSN(cfg.Path, cfg.BusyTimeout))
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: cfg.Path, now: cfg.Now}
	if err := s.initWriter(ctx, unclean); err != nil {
		db.Close()
		return nil, classify(err)
	}
	return s, nil
}

// checkOwnRO checks, read-only, that the file is nhiscan's database.
func checkOwnRO(ctx context.Context, cfg Config) error {
	db, err := openRO(ctx, cfg.Path, cfg.BusyTimeout)
	if err != nil {
		return classify(err)
	}
	defer db.Close()
	return classify(checkNhiscan(ctx, db))
}

// initWriter checks the file is nhiscan's, checks its integrity after an
// unclean shutdown, applies pending migrations and marks scans left running
// by a dead process as failed. The caller holds the lock.
func (s *Store) initWriter(ctx context.Context, unclean string) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	if err := checkNhiscan(ctx, s.db); err != nil {
		return err
	}
	if unclean == "" {
		var running int
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM scans WHERE status = 'running'").Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			unclean = "a scan left running"
		}
	}
	if unclean != "" {
		if err := checkIntegrity(ctx, s.db, "quick_check"); err != nil {
			return fmt.Errorf("after an unclean shutdown (%s): %w", unclean, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return s.recoverInterrupted(ctx)
}

// checkNhiscan refuses an SQLite database that is not nhiscan's: one
// without schema_migrations, whether it has another program's tables or
// none at all (nhiscan never leaves a database without its schema behind).
func checkNhiscan(ctx context.Context, q queryer) error {
	var tables, ours int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(name = 'schema_migrations'), 0)
		FROM sqlite_master WHERE type = 'table'`).Scan(&tables, &ours); err != nil {
		return err
	}
	switch {
	case ours > 0:
		return nil
	case tables > 0:
		return notDB("it is an SQLite database of another program (it has tables but no schema_migrations)")
	}
	return notDB("it is an SQLite database without nhiscan's schema (no tables at all)")
}

// create builds a new database at cfg.Path: the schema is made under a
// temporary name in the same directory and linked into place complete. The
// caller holds the lock.
func create(ctx context.Context, cfg Config) (err error) {
	dir, base := filepath.Split(cfg.Path)
	if dir == "" {
		dir = "."
	}
	// The history maps every machine identity, its owners and weaknesses:
	// a new database is readable by its owner only (SQLite gives the WAL
	// and shared-memory files the database file's mode).
	f, err := os.CreateTemp(dir, "."+base+".new-*")
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"} {
				os.Remove(p)
			}
		}
	}()
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	db, err := sql.Open("sqlite", writerDSN(tmp, cfg.BusyTimeout))
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	s := &Store{db: db, path: tmp, now: cfg.Now}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return fmt.Errorf("create: %w", err)
	}
	// Closing the last connection checkpoints the write-ahead log into the
	// file and removes it.
	if err := db.Close(); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if _, err := os.Stat(tmp + "-wal"); err == nil {
		return fmt.Errorf("create: the new database's write-ahead log was not checkpointed")
	}
	if err := os.Link(tmp, cfg.Path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create: %s appeared while the database was being made: %w", cfg.Path, err)
		}
		// A file system without hard links: we hold the lock and saw no
		// file, so renaming cannot replace another nhiscan's database.
		if err := os.Rename(tmp, cfg.Path); err != nil {
			return fmt.Errorf("create: %w", err)
		}
	} else if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable; it is best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// openReader opens an existing database for reading only: it is never
// created, migrated or written, and no lock is taken. SQLite's mode=ro is
// used, which reads alongside a running writer; when the directory cannot
// be written (an archived copy) and no write-ahead log holds data, the file
// is opened immutable, since SQLite then cannot make its shared-memory file.
func openReader(ctx context.Context, cfg Config) (*Store, error) {
	if err := checkFile(cfg.Path); err != nil {
		return nil, err
	}
	db, err := openRO(ctx, cfg.Path, cfg.BusyTimeout)
	if err != nil {
		return nil, classify(err)
	}
	s := &Store{db: db, path: cfg.Path, now: cfg.Now, readOnly: true}
	if err := s.initReader(ctx); err != nil {
		db.Close()
		return nil, classify(err)
	}
	return s, nil
}

func openRO(ctx context.Context, path string, busy time.Duration) (*sql.DB, error) {
	db, err := probe(ctx, dsn(path, []string{"mode=ro"}, busy, "query_only(1)"))
	if err == nil {
		return db, nil
	}
	if c := sqliteCode(err); c != sqlite3.SQLITE_READONLY && c != sqlite3.SQLITE_CANTOPEN {
		return nil, err
	}
	if fi, werr := os.Stat(path + "-wal"); werr == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s-wal holds changes not yet in the database file, and SQLite cannot read them without "+
			"write access to the directory: copy the database with its -wal file to a writable directory (%w)", path, err)
	}
	return probe(ctx, dsn(path, []string{"mode=ro", "immutable=1"}, busy, "query_only(1)"))
}

// probe opens dsn and reads the schema, so an unusable file fails here.
func probe(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// initReader checks the database is nhiscan's, at this nhiscan's schema
// version.
func (s *Store) initReader(ctx context.Context) error {
	if err := checkNhiscan(ctx, s.db); err != nil {
		return err
	}
	return s.checkReaderVersion(ctx)
}

// checkReaderVersion refuses, for a reader, a database of an older schema
// (only a writer migrates) or a newer one.
func (s *Store) checkReaderVersion(ctx context.Context) error {
	ms, err := loadMigrations(s.Engine())
	if err != nil {
		return err
	}
	v, err := currentVersion(ctx, s.db, len(ms))
	if err != nil {
		return err
	}
	if v < len(ms) {
		return fmt.Errorf("%w: database is at version %d, this nhiscan reads version %d; opened read-only, it is not migrated", ErrSchemaOld, v, len(ms))
	}
	return nil
}

// lockHeldErr is the ErrScanRunning error of a writer that found the lock
// held, naming the running scan when a read-only look shows one.
func lockHeldErr(ctx context.Context, path, lockPath string) error {
	if st, err := openReader(ctx, Config{Path: path, BusyTimeout: time.Second, Now: time.Now}); err == nil {
		defer st.Close()
		if err := st.runningScanErr(ctx); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w, or another nhiscan command is writing: the lock %s is held and no scan is recorded as running", ErrScanRunning, lockPath)
}

// runningScanErr is an ErrScanRunning error naming the newest running scan,
// nil when none is recorded as running.
func (s *Store) runningScanErr(ctx context.Context) error {
	var id int64
	var started string
	if err := s.db.QueryRowContext(ctx, "SELECT id, started FROM scans WHERE status = 'running' ORDER BY id DESC LIMIT 1").Scan(&id, &started); err == nil {
		return fmt.Errorf("%w: scan %d started at %s", ErrScanRunning, id, started)
	}
	return nil
}

// CanWrite reports whether this process may write the database at path and
// its directory (for the write-ahead log and the lock); nil when it may.
// A PostgreSQL database is not checked: a write the server refuses fails
// when it is tried.
func CanWrite(path string) error {
	if IsPostgres(path) {
		return nil
	}
	dir := filepath.Dir(path)
	for _, p := range []string{path, dir} {
		if err := access(p); err != nil {
			return err
		}
	}
	return nil
}
