package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The PostgreSQL dialect layer. The store's queries are written once, in
// the SQL both engines share (RETURNING, ON CONFLICT, COALESCE, text times);
// what differs is handled here, below database/sql, so every method of Store
// runs unchanged on either engine:
//
//   - placeholders: SQLite's "?" and "?NNN" become PostgreSQL's "$n" and
//     "$NNN" (rebind);
//   - write serialisation: SQLite runs one write transaction at a time
//     (BEGIN IMMEDIATE); here every read-write transaction first takes a
//     transaction-level advisory lock, so read-modify-write steps (the audit
//     chain's head, the next plan id) see what the previous transaction
//     wrote, exactly as on SQLite.

// pgConnector wraps pgx's database/sql connector with the dialect.
type pgConnector struct {
	inner driver.Connector
	// txLock is the advisory lock key every read-write transaction takes.
	txLock int64
}

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: dc.(*stdlib.Conn), txLock: c.txLock}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is one pgx connection with queries rebound.
type pgConn struct {
	*stdlib.Conn
	txLock int64
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction. A read-only one reads one snapshot
// (repeatable read), as an SQLite read transaction does, so the audit head
// and the entries it reads agree; a read-write one waits for the write
// lock, which PostgreSQL releases at commit or rollback.
func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly && opts.Isolation == driver.IsolationLevel(sql.LevelDefault) {
		opts.Isolation = driver.IsolationLevel(sql.LevelRepeatableRead)
	}
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil || opts.ReadOnly || c.txLock == 0 {
		return tx, err
	}
	if _, err := c.Conn.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", []driver.NamedValue{{Ordinal: 1, Value: c.txLock}}); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// uniqueViolation reports whether err is a unique constraint violation on
// either engine.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || strings.Contains(se.Error(), "UNIQUE constraint failed"))
}

// rebind turns "?" placeholders into "$1", "$2"… and "?NNN" into "$NNN",
// leaving quoted strings, quoted identifiers and comments alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case ch == '\'' || ch == '"':
			j := closing(q, i+1, ch)
			b.WriteString(q[i:j])
			i = j - 1
		case ch == '-' && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case ch == '/' && strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case ch == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// closing returns the index just past the quote that closes a quoted
// string or identifier opened before i (a doubled quote is an escape).
func closing(q string, i int, quote byte) int {
	for i < len(q) {
		if q[i] == quote {
			if i+1 < len(q) && q[i+1] == quote {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(q)
}
