package store_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/store"
)

// testReaderOfPostgres: a read-only Store of an empty schema says there is
// no history; of a history, it reads alongside the writer and writes
// nothing, the server refusing even a raw write on its connections.
func testReaderOfPostgres(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	if _, err := store.OpenConfig(ctx, store.Config{Path: path, ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read-only open of an empty schema: %v, want fs.ErrNotExist", err)
	}
	c := &clock{t: t0}
	w := openAt(t, path, c)
	mustFinish(t, w, mustBegin(t, w, t0), t0, inventory(), nil)
	r := openReadOnly(t, path, c)
	if !r.ReadOnly() || r.Engine() != store.EnginePostgres {
		t.Fatalf("reader: read-only %v, engine %s", r.ReadOnly(), r.Engine())
	}
	if n, err := r.VerifyAudit(ctx); err != nil || n != 2 {
		t.Fatalf("reader VerifyAudit = %d, %v", n, err)
	}
	if err := r.Audit(ctx, store.AuditEntry{At: t0, Actor: "x", Action: "y"}); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("reader Audit: %v, want ErrReadOnly", err)
	}
	if strings.Contains(r.Path(), "password") {
		t.Errorf("Path() = %q", r.Path())
	}
	if err := r.IntegrityCheck(ctx); !errors.Is(err, store.ErrIntegrityNotChecked) {
		t.Errorf("IntegrityCheck on PostgreSQL: %v, want ErrIntegrityNotChecked said out loud", err)
	}
}

// testPostgresSchemaOfAnotherProgram: a schema holding another program's
// tables is refused, by writers and readers, and left as it was.
func testPostgresSchemaOfAnotherProgram(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	if _, err := rawDB(t, path).Exec("CREATE TABLE orders (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := store.OpenConfig(ctx, store.Config{Path: path, ReadOnly: ro})
		if !errors.Is(err, store.ErrNotDatabase) {
			t.Errorf("read-only %v: %v, want ErrNotDatabase", ro, err)
		}
	}
	var n int
	if err := rawDB(t, path).QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil || n != 1 {
		t.Errorf("schema now has %d tables (%v), want the 1 it had", n, err)
	}
}

// testPostgresSchemaSharedWithTheFleet: the worker fleet's tables (River's
// river_* and nhiscan's fleet_*) are nhiscan's own, so a history is created
// beside them and opened again.
func testPostgresSchemaSharedWithTheFleet(t *testing.T) {
	ctx := context.Background()
	path := newPath(t)
	for _, q := range []string{"CREATE TABLE river_job (id BIGINT PRIMARY KEY)", "CREATE TABLE fleet_scans (id BIGINT PRIMARY KEY)"} {
		if _, err := rawDB(t, path).Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		st, err := store.OpenConfig(ctx, store.Config{Path: path})
		if err != nil {
			t.Fatalf("a schema with the fleet's tables: %v", err)
		}
		st.Close()
	}
}

// testAuditRefusesTruncate: TRUNCATE, which skips row triggers, is refused
// on the audit log too.
func testAuditRefusesTruncate(t *testing.T) {
	_, path := auditStore(t, 2)
	if _, err := rawDB(t, path).Exec("TRUNCATE audit_log"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("TRUNCATE audit_log: %v, want the append-only trigger to refuse it", err)
	}
}
