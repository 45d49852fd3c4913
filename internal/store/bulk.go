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

// bulkWriter is how FinishScan writes in bulk: insert appends rows; seen,
// when not nil, applies the rows of findings seen again (seenCols) in one
// statement, which SQLite, in process, does row by row as fast.
type bulkWriter struct {
	insert bulkInsert
	seen   func(ctx context.Context, rows [][]any) error
}

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
func (s *Store) bulkFor(conn *sql.Conn, tx *sql.Tx) bulkWriter {
	if s.pg != nil {
		return bulkWriter{insert: copyFrom(conn), seen: copySeen(conn, tx)}
	}
	return bulkWriter{insert: multiRowInsert(tx)}
}

// seenCols are the columns of a finding seen again: what the scan says of
// it now, and reopen, 1 when a resolved finding came back.
var seenCols = []string{"fingerprint", "status", "rule_id", "family", "severity", "severity_rank", "provider", "scope",
	"identity_id", "owner", "last_seen", "last_scan_id", "body", "facets", "reopen"}

// copySeen copies the rows of findings seen again into a temporary table
// and updates findings from it in one statement: the set form of the
// findingWriter's row-by-row update.
func copySeen(conn *sql.Conn, tx *sql.Tx) func(ctx context.Context, rows [][]any) error {
	return func(ctx context.Context, rows [][]any) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE nhiscan_seen (fingerprint TEXT COLLATE "C" PRIMARY KEY,
			status TEXT, rule_id TEXT, family TEXT, severity TEXT, severity_rank BIGINT, provider TEXT, scope TEXT,
			identity_id TEXT, owner TEXT, last_seen TEXT, last_scan_id BIGINT, body TEXT, facets TEXT, reopen BIGINT) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("findings seen again: %w", err)
		}
		if err := copyFrom(conn)(ctx, "nhiscan_seen", seenCols, rows); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE findings f SET status = u.status, rule_id = u.rule_id, family = u.family,
			severity = u.severity, severity_rank = u.severity_rank, provider = u.provider, scope = u.scope,
			identity_id = u.identity_id, owner = u.owner, last_seen = u.last_seen, last_scan_id = u.last_scan_id,
			body = u.body, resolved_at = NULL, resolved_scan_id = NULL, hidden = '', facets = u.facets,
			reopened = f.reopened + u.reopen, reopened_at = CASE WHEN u.reopen = 1 THEN u.last_seen ELSE f.reopened_at END
			FROM nhiscan_seen u WHERE f.fingerprint = u.fingerprint`)
		if err != nil {
			return fmt.Errorf("findings seen again: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(rows)) {
			return fmt.Errorf("findings seen again: %d of %d updated (%v)", n, len(rows), err)
		}
		_, err = tx.ExecContext(ctx, "DROP TABLE nhiscan_seen")
		return err
	}
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
