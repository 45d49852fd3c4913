package store_test

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/store"
)

// migrationNames lists the NNNN_name.sql files of dir.
func migrationNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestMigrationsMatch: every SQLite migration has its PostgreSQL port under
// the same number and name, so a migration added to one engine alone fails
// here, with or without a PostgreSQL server.
func TestMigrationsMatch(t *testing.T) {
	sqlite, pg := migrationNames(t, "migrations"), migrationNames(t, "migrations_postgres")
	if diff := cmp.Diff(sqlite, pg); diff != "" {
		t.Fatalf("migrations/ and migrations_postgres/ differ (-sqlite +postgres); port the missing migration:\n%s", diff)
	}
}

// tableColumns lists "table.column" of db's schema, without schema_migrations'
// engine-specific details.
func tableColumns(t *testing.T, path string) []string {
	t.Helper()
	q := `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	if store.IsPostgres(path) {
		q = `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	}
	rows, err := rawDB(t, path).Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// testSchemaMatchesSQLite: the PostgreSQL migrations build the same tables
// and columns as the SQLite ones.
func testSchemaMatchesSQLite(t *testing.T) {
	pg := newPath(t)
	lite := t.TempDir() + "/nhiscan.db"
	for _, p := range []string{pg, lite} {
		st, err := store.Open(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	want := tableColumns(t, lite)
	if len(want) < 100 {
		t.Fatalf("SQLite schema lists %d columns: the introspection query is wrong", len(want))
	}
	if diff := cmp.Diff(want, tableColumns(t, pg)); diff != "" {
		t.Errorf("schemas differ (-sqlite +postgres):\n%s", diff)
	}
}
