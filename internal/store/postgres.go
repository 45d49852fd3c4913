package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// How a PostgreSQL database is opened. The history lives in the DSN's
// schema (the first of its search_path, "public" by default) of an existing
// database; nhiscan never creates databases or schemas, only its tables in
// an empty schema, one migration per transaction (PostgreSQL's DDL is
// transactional, so a half-made schema is never left behind). A schema
// with tables but no schema_migrations is another program's and refused.
//
// Locks use PostgreSQL advisory locks, keyed by database and schema, where
// SQLite uses file locks: a writer holds a session lock on a dedicated
// connection for the Store's life (the server releases it when that
// connection ends, however the process ends), revocation runs hold another,
// and every read-write transaction takes a transaction lock so that writes
// run one at a time as on SQLite. A reader's connections have
// default_transaction_read_only on.

// Engine is the database engine behind a Store.
type Engine string

// The engines.
const (
	EngineSQLite   = Engine("sqlite")
	EnginePostgres = Engine("postgres")
)

// IsPostgres reports whether database names a PostgreSQL database (a
// postgres:// or postgresql:// DSN) rather than an SQLite file.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// RedactDSN returns a database name fit for messages: an SQLite path as it
// is, a PostgreSQL DSN without its password.
func RedactDSN(database string) string {
	if !IsPostgres(database) {
		return database
	}
	u, err := url.Parse(database)
	if err != nil {
		return "postgres://(unparsable DSN)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Engine returns the database engine.
func (s *Store) Engine() Engine {
	if s.pg != nil {
		return EnginePostgres
	}
	return EngineSQLite
}

// PostgresDSN returns the DSN the Store was opened with, for a component
// that shares the database (the job queue); ok is false on SQLite. It may
// carry a password: never print it (RedactDSN).
func (s *Store) PostgresDSN() (dsn string, ok bool) {
	if s.pg == nil {
		return "", false
	}
	return s.pg.dsn, true
}

// pgInfo is what a PostgreSQL Store knows of its database.
type pgInfo struct {
	dsn    string
	config *pgx.ConnConfig
	// schema is where the history lives; keys are its advisory lock keys.
	schema                      string
	writerKey, txKey, revokeKey int64
}

// pgLock is a session advisory lock held on a dedicated connection. It is
// released explicitly, so the next taker finds it free at once, and in any
// case when the connection ends.
type pgLock struct {
	conn *pgx.Conn
	key  int64
}

func (l *pgLock) unlock() error {
	if l == nil || l.conn == nil {
		return nil
	}
	ctx := context.Background()
	_, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	err = errors.Join(err, l.conn.Close(ctx))
	l.conn = nil
	return err
}

// lockKey derives an advisory lock key for one use in one schema.
func lockKey(use, database, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("nhiscan\x00" + use + "\x00" + database + "\x00" + schema))
	return int64(h.Sum64())
}

// connectPG parses dsn and opens a dedicated connection, resolving the
// schema and the lock keys.
func connectPG(ctx context.Context, dsn string) (*pgInfo, *pgx.Conn, error) {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("PostgreSQL DSN: %w", redactErr(err, dsn))
	}
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, nil, redactErr(err, dsn)
	}
	var db string
	var schema sql.NullString
	if err := conn.QueryRow(ctx, "SELECT current_database(), current_schema()").Scan(&db, &schema); err != nil {
		conn.Close(ctx)
		return nil, nil, err
	}
	if !schema.Valid {
		conn.Close(ctx)
		return nil, nil, notDB("the DSN's search_path names no existing schema in database %s: nhiscan creates its tables, never the schema", db)
	}
	info := &pgInfo{dsn: dsn, config: pc, schema: schema.String,
		writerKey: lockKey("writer", db, schema.String), txKey: lockKey("write-tx", db, schema.String), revokeKey: lockKey("revoke", db, schema.String)}
	return info, conn, nil
}

// redactErr keeps a password out of a connection error's text.
func redactErr(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// tryAdvisory takes a session advisory lock on conn without waiting.
func tryAdvisory(ctx context.Context, conn *pgx.Conn, key int64) (bool, error) {
	var ok bool
	err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok)
	return ok, err
}

// pgDB opens the database/sql pool with the dialect layer. A write waits
// for another's transaction at most busy (lock_timeout, unless the DSN sets
// one), as SQLite's busy timeout bounds it.
func pgDB(info *pgInfo, readOnly bool, busy time.Duration) *sql.DB {
	pc := info.config.Copy()
	pc.RuntimeParams = maps.Clone(pc.RuntimeParams)
	if pc.RuntimeParams == nil {
		pc.RuntimeParams = map[string]string{}
	}
	if _, ok := pc.RuntimeParams["lock_timeout"]; !ok && busy > 0 {
		pc.RuntimeParams["lock_timeout"] = strconv.FormatInt(busy.Milliseconds(), 10)
	}
	key := info.txKey
	if readOnly {
		pc.RuntimeParams["default_transaction_read_only"] = "on"
		key = 0
	}
	db := sql.OpenDB(&pgConnector{inner: stdlib.GetConnector(*pc), txLock: key})
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	return db
}

// openPostgresWriter opens the schema for writing under the writer lock,
// creating nhiscan's tables in an empty schema.
func openPostgresWriter(ctx context.Context, cfg Config) (*Store, error) {
	info, conn, err := connectPG(ctx, cfg.Path)
	if err != nil {
		return nil, err
	}
	ok, err := tryAdvisory(ctx, conn, info.writerKey)
	if err != nil || !ok {
		conn.Close(ctx)
		if err != nil {
			return nil, err
		}
		return nil, pgLockHeldErr(ctx, cfg, info.schema)
	}
	lock := &pgLock{conn: conn, key: info.writerKey}
	db := pgDB(info, false, cfg.BusyTimeout)
	s := &Store{db: db, path: cfg.Path, now: cfg.Now, pg: info, lock: lock}
	if err := s.initPostgresWriter(ctx); err != nil {
		db.Close()
		lock.unlock()
		return nil, err
	}
	return s, nil
}

func (s *Store) initPostgresWriter(ctx context.Context) error {
	err := checkNhiscanPG(ctx, s.db, s.pg.schema)
	var nd *NotDatabaseError
	if errors.As(err, &nd) && nd.empty {
		err = nil // an empty schema: migrate creates the tables
	}
	if err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return s.recoverInterrupted(ctx)
}

// openPostgresReader opens the schema read-only: nothing is created,
// migrated, locked or written.
func openPostgresReader(ctx context.Context, cfg Config) (*Store, error) {
	info, conn, err := connectPG(ctx, cfg.Path)
	if err != nil {
		return nil, err
	}
	conn.Close(ctx)
	db := pgDB(info, true, cfg.BusyTimeout)
	s := &Store{db: db, path: cfg.Path, now: cfg.Now, pg: info, readOnly: true}
	if err := s.initPostgresReader(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) initPostgresReader(ctx context.Context) error {
	err := checkNhiscanPG(ctx, s.db, s.pg.schema)
	var nd *NotDatabaseError
	if errors.As(err, &nd) && nd.empty {
		return fmt.Errorf("schema %s holds no nhiscan history yet: %w", s.pg.schema, fs.ErrNotExist)
	}
	if err != nil {
		return err
	}
	return s.checkReaderVersion(ctx)
}

// checkNhiscanPG refuses a schema that holds another program's tables; an
// empty schema is a NotDatabaseError with empty set. The worker fleet's
// tables (River's river_* and nhiscan's fleet_*, internal/fleet) are
// nhiscan's own: the fleet and the history it finalises scans into may
// share a schema.
func checkNhiscanPG(ctx context.Context, q queryer, schema string) error {
	var tables, ours int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE table_name = 'schema_migrations')
		FROM information_schema.tables WHERE table_schema = ?
		AND NOT starts_with(table_name, 'river_') AND NOT starts_with(table_name, 'fleet_')`, schema).Scan(&tables, &ours); err != nil {
		return err
	}
	switch {
	case ours > 0:
		return nil
	case tables > 0:
		return notDB("schema %s holds another program's tables (it has tables but no schema_migrations)", schema)
	}
	return &NotDatabaseError{Reason: "schema " + schema + " has no tables", empty: true}
}

// pgLockHeldErr is the ErrScanRunning error of a writer that found the
// writer lock held, naming the running scan when a read-only look shows one.
func pgLockHeldErr(ctx context.Context, cfg Config, schema string) error {
	if st, err := openPostgresReader(ctx, Config{Path: cfg.Path, Now: cfg.Now}); err == nil {
		defer st.Close()
		if err := st.runningScanErr(ctx); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w, or another nhiscan command is writing: the advisory lock of schema %s is held and no scan is recorded as running", ErrScanRunning, schema)
}

// lockRevokePG takes the revocation advisory lock on a dedicated
// connection.
func (s *Store) lockRevokePG(ctx context.Context) (unlock func(), err error) {
	info, conn, err := connectPG(ctx, s.pg.dsn)
	if err != nil {
		return nil, err
	}
	ok, err := tryAdvisory(ctx, conn, info.revokeKey)
	if err != nil || !ok {
		conn.Close(ctx)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("revoke: %w", ErrRevokeRunning)
	}
	l := &pgLock{conn: conn, key: info.revokeKey}
	return func() { l.unlock() }, nil
}
