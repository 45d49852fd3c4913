package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Bulk writes: a scan's findings, its new lifecycle rows and its events
// are appended in bulk inside FinishScan's transaction — PostgreSQL's COPY
// (pgx CopyFrom on the transaction's own connection) on PostgreSQL,
// multi-row INSERTs through one prepared statement on SQLite. See
// BENCHMARKS.md ("Persisting a scan") for how they compare with psql's
// \copy and the sqlite3 shell's .import of the same rows.

// bulkInsert appends rows (each len(cols) values) to table.
type bulkInsert func(ctx context.Context, table string, cols []string, rows [][]any) error

// beginOnConn begins a transaction on a connection of its own, so that
// PostgreSQL's COPY on that connection runs inside it. The caller rolls
// back or commits the transaction, then closes the connection.
func (s *Store) beginOnConn(ctx context.Context) (*sql.Conn, *sql.Tx, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, tx, nil
}

// bulkFor returns the bulk writer of a transaction begun on conn.
func (s *Store) bulkFor(conn *sql.Conn, tx *sql.Tx) bulkInsert {
	if s.pg != nil {
		return copyFrom(conn)
	}
	return multiRowInsert(tx)
}

// copyFrom writes with PostgreSQL's COPY on conn, inside the transaction
// begun on it.
func copyFrom(conn *sql.Conn) bulkInsert {
	return func(ctx context.Context, table string, cols []string, rows [][]any) error {
		if len(rows) == 0 {
			return nil
		}
		return conn.Raw(func(dc any) error {
			pc, ok := dc.(*pgConn)
			if !ok {
				return fmt.Errorf("copy into %s: not a PostgreSQL connection (%T)", table, dc)
			}
			n, err := pc.Conn.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("copy into %s: %w", table, err)
			}
			if n != int64(len(rows)) {
				return fmt.Errorf("copy into %s: %d of %d rows written", table, n, len(rows))
			}
			return nil
		})
	}
}

// maxBulkRows bounds the rows of one multi-row INSERT; SQLite allows
// 32766 parameters in a statement.
const maxBulkRows = 256

// multiRowInsert writes with INSERTs of up to maxBulkRows rows each, the
// full-size statement prepared once.
func multiRowInsert(tx *sql.Tx) bulkInsert {
	return func(ctx context.Context, table string, cols []string, rows [][]any) error {
		per := max(1, min(maxBulkRows, 32766/len(cols)))
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		args := make([]any, 0, per*len(cols))
		for start := 0; start < len(rows); start += per {
			chunk := rows[start:min(start+per, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, r...)
			}
			var err error
			switch {
			case len(chunk) < per:
				_, err = tx.ExecContext(ctx, insertSQL(table, cols, len(chunk)), args...)
			case full == nil:
				if full, err = tx.PrepareContext(ctx, insertSQL(table, cols, per)); err == nil {
					_, err = full.ExecContext(ctx, args...)
				}
			default:
				_, err = full.ExecContext(ctx, args...)
			}
			if err != nil {
				return fmt.Errorf("insert into %s: %w", table, err)
			}
		}
		return nil
	}
}

// insertSQL is an INSERT of n rows of cols into table.
func insertSQL(table string, cols []string, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
