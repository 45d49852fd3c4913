package fleet

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// migrations are the fleet's own tables, forward only; fleet_migrations
// records which ran.
//
// fleet_scans is one requested scan: its trigger (unique: a schedule's
// fire is one scan however many replicas see it), the scopes its plan
// listed, and finalized_at, set in the transaction that finalised it.
// fleet_parts is one scope's inventory fragment, or its gap; the primary
// key makes a retried job replace its part, never add a second.
var migrations = []string{
	`CREATE TABLE fleet_scans (
		id           bigserial PRIMARY KEY,
		trigger      text NOT NULL UNIQUE,
		requested_at timestamptz NOT NULL,
		state        text NOT NULL CHECK (state IN ('planning', 'collecting', 'finalizing', 'finalized', 'failed')),
		scopes       jsonb,
		reason       text NOT NULL DEFAULT '',
		parts        integer NOT NULL DEFAULT 0,
		finalized_at timestamptz
	);
	CREATE TABLE fleet_parts (
		scan_id     bigint NOT NULL REFERENCES fleet_scans (id),
		provider    text NOT NULL,
		scope       text NOT NULL,
		inventory   text NOT NULL,
		gap         boolean NOT NULL,
		attempt     integer NOT NULL,
		worker      text NOT NULL,
		recorded_at timestamptz NOT NULL,
		PRIMARY KEY (scan_id, provider, scope)
	);`,
}

// migrateLock is the advisory lock key replicas take while migrating, so
// that three workers starting together migrate once.
const migrateLock = 0x6e686973 // "nhis"

// Migrate brings River's tables and the fleet's up to date, under a
// session advisory lock: three workers starting together migrate once.
// River's migrations run one transaction each (a new enum value cannot
// be used in the transaction that adds it); the fleet's run in one.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("fleet: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("fleet: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock) //nolint:errcheck // the session ends the lock anyway
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("fleet: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("fleet: migrate river: %w", err)
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return migrateFleet(ctx, tx) })
}

// migrateFleet applies the fleet's migrations not yet recorded.
func migrateFleet(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS fleet_migrations (version integer PRIMARY KEY)"); err != nil {
		return fmt.Errorf("fleet: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM fleet_migrations").Scan(&have); err != nil {
		return fmt.Errorf("fleet: migrate: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("fleet: the database is at fleet schema %d, newer than this nhiscan (%d)", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("fleet: migration %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO fleet_migrations (version) VALUES ($1)", v); err != nil {
			return fmt.Errorf("fleet: migration %d: %w", v, err)
		}
	}
	return nil
}
