package store

import (
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// RawPostgres opens dsn through the dialect layer ("?" placeholders) but
// without a Store, locks or checks: the tests' raw access, as rawDB's
// sql.Open("sqlite", path) is on SQLite.
func RawPostgres(dsn string) (*sql.DB, error) {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(&pgConnector{inner: stdlib.GetConnector(*pc)}), nil
}

// SetSnapshotRaw lowers the size above which snapshots are stored
// compressed.
func SetSnapshotRaw(n int) (restore func()) {
	old := snapshotRaw
	snapshotRaw = n
	return func() { snapshotRaw = old }
}
