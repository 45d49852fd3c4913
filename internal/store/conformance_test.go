package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nhiscan/nhiscan/internal/store"
)

// The store conformance suite. Every test listed in conformance runs on
// SQLite as itself and on PostgreSQL as TestPostgres/<name>, each in a
// schema of its own. The tests left out are SQLite's alone: a file that is
// not a database, a damaged page, a read-only directory, a file lock, a
// process killed while it holds a file.
var conformance = []struct {
	name string
	fn   func(*testing.T)
}{
	{"AuditIntactChainVerifies", TestAuditIntactChainVerifies},
	{"AuditTriggersRefuseUpdateAndDelete", TestAuditTriggersRefuseUpdateAndDelete},
	{"AuditTamperingIsDetected", TestAuditTamperingIsDetected},
	{"AuditRejectsIncompleteEntry", TestAuditRejectsIncompleteEntry},
	{"AuditConcurrentAppendsKeepTheChain", TestAuditConcurrentAppendsKeepTheChain},
	{"CampaignCreateAndRead", TestCampaignCreateAndRead},
	{"CampaignDecisionsAreAuditedAndNeedAnOpenCampaign", TestCampaignDecisionsAreAuditedAndNeedAnOpenCampaign},
	{"CampaignDeliveryLogIsIdempotent", TestCampaignDeliveryLogIsIdempotent},
	{"CampaignClose", TestCampaignClose},
	{"EvidenceOfStoredScans", TestEvidenceOfStoredScans},
	{"NotReevaluatedAcrossScans", TestNotReevaluatedAcrossScans},
	{"CoverageMatrixStored", TestCoverageMatrixStored},
	{"FailedScanIsNeverTheBaseline", TestFailedScanIsNeverTheBaseline},
	{"FinishScanNeedsTheLifecycle", TestFinishScanNeedsTheLifecycle},
	{"PlanRoundTripAndAudit", TestPlanRoundTripAndAudit},
	{"JournalDoneOnce", TestJournalDoneOnce},
	{"LockRevoke", TestLockRevoke},
	{"LinkRemediations", TestLinkRemediations},
	{"OpenMigratesOnceAndReopens", TestOpenMigratesOnceAndReopens},
	{"OpenRefusesNewerSchema", TestOpenRefusesNewerSchema},
	{"FindingLifecycleAcrossScans", TestFindingLifecycleAcrossScans},
	{"FindingsFilter", TestFindingsFilter},
	{"FinishScanRejectsDuplicateFingerprintAndKeepsScanRunning", TestFinishScanRejectsDuplicateFingerprintAndKeepsScanRunning},
	{"SecondWriterInSameProcess", TestSecondWriterInSameProcess},
	{"CloseFailsRunningScan", TestCloseFailsRunningScan},
	{"Certification", TestCertification},
	{"ETagCache", TestETagCache},
	{"SnapshotDetectsCorruption", TestSnapshotDetectsCorruption},
	{"ScanOwnershipAndEvaluatedAt", TestScanOwnershipAndEvaluatedAt},
	{"FindingsOfUncollectedScopeStayOpen", TestFindingsOfUncollectedScopeStayOpen},
	{"RetireScope", TestRetireScope},
	{"FinishedScanDataIsImmutable", TestFinishedScanDataIsImmutable},
	{"IntactDatabaseVerifies", TestIntactDatabaseVerifies},
	{"TamperingIsDetected", TestTamperingIsDetected},
	{"ScansStoredBeforeFindingsHashes", TestScansStoredBeforeFindingsHashes},
	{"ReaderOfPostgres", testReaderOfPostgres},
	{"PostgresSchemaOfAnotherProgram", testPostgresSchemaOfAnotherProgram},
	{"SchemaMatchesSQLite", testSchemaMatchesSQLite},
}

// postgresBase is the DSN of the test PostgreSQL server: NHISCAN_TEST_POSTGRES,
// which .ci/run sets. Without it the PostgreSQL half is skipped, visibly,
// except in CI, where that is a failure.
func postgresBase(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("NHISCAN_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("PostgreSQL half not run: NHISCAN_TEST_POSTGRES is not set in CI (.ci/run sets it)")
		}
		tb.Skip("PostgreSQL half skipped: NHISCAN_TEST_POSTGRES not set; .ci/run sets it")
	}
	if !store.IsPostgres(dsn) {
		tb.Fatalf("NHISCAN_TEST_POSTGRES must be a postgres:// URL, got %q", store.RedactDSN(dsn))
	}
	return dsn
}

// TestPostgres runs the conformance suite against PostgreSQL.
func TestPostgres(t *testing.T) {
	postgresBase(t)
	for _, c := range conformance {
		t.Run(c.name, c.fn)
	}
}

// onPostgres reports whether tb runs in the PostgreSQL half of the suite.
func onPostgres(tb testing.TB) bool {
	return strings.HasPrefix(tb.Name(), "TestPostgres/")
}

// newPath returns where a new store of tb's engine lives: a file in a
// temporary directory, or a DSN naming a fresh schema dropped at cleanup.
func newPath(tb testing.TB) string {
	tb.Helper()
	if !onPostgres(tb) {
		return filepath.Join(tb.TempDir(), "nhiscan.db")
	}
	return newSchema(tb, postgresBase(tb))
}

// newSchema creates an empty schema and returns base with its search_path.
func newSchema(tb testing.TB, base string) string {
	tb.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("PostgreSQL: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
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

// rawDB opens the database directly, bypassing the store: the SQLite file,
// or the PostgreSQL schema with "?" placeholders rebound.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	var db *sql.DB
	var err error
	if store.IsPostgres(path) {
		db, err = store.RawPostgres(path)
	} else {
		db, err = sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	}
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1) // a session setting (foreign keys off) holds for every statement
	tb.Cleanup(func() { db.Close() })
	return db
}

// triggerSQL lists the statements that drop every trigger of db.
func triggerDrops(tb testing.TB, db *sql.DB, postgres bool) []string {
	tb.Helper()
	q := "SELECT 'DROP TRIGGER ' || name FROM sqlite_master WHERE type = 'trigger'"
	if postgres {
		q = `SELECT 'DROP TRIGGER ' || t.tgname || ' ON ' || c.relname FROM pg_trigger t
			JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace`
	}
	rows, err := db.Query(q)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
