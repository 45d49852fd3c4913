// Package storetest gives tests a PostgreSQL schema of their own, from the
// server NHISCAN_TEST_POSTGRES names (.ci/run starts one). Without that
// variable a test is skipped, visibly, saying why; in CI (CI set) it fails.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env is the variable naming the test PostgreSQL server, a postgres:// URL.
const Env = "NHISCAN_TEST_POSTGRES"

// PostgresBase returns the DSN of the test server, or skips (fails in CI).
func PostgresBase(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("PostgreSQL half not run: " + Env + " is not set in CI (.ci/run sets it)")
		}
		tb.Skip("PostgreSQL half skipped: " + Env + " not set; .ci/run sets it")
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		tb.Fatalf("%s must be a postgres:// URL", Env)
	}
	return dsn
}

// Schema creates an empty schema on the test server, drops it when the
// test ends, and returns a DSN whose search_path names it.
func Schema(tb testing.TB) string {
	tb.Helper()
	base := PostgresBase(tb)
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	exec := func(q string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, q)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("PostgreSQL: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("PostgreSQL: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
