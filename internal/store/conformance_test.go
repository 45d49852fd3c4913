package store_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/store/storetest"
)

// The store conformance suite. Every test listed in conformance runs on
// SQLite as itself and on PostgreSQL as TestPostgres/<name>, each in a
// schema of its own. The tests left out are SQLite's alone: a file that is
// not a database, a damaged page, a read-only directory, a file lock, a
// process killed while it holds a file.
var conformance = []conformanceTest{
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
	{"ScheduleRuns", TestScheduleRuns},
	{"WebhookDeliveries", TestWebhookDeliveries},
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
	{"PostgresSchemaSharedWithTheFleet", testPostgresSchemaSharedWithTheFleet},
	{"SchemaMatchesSQLite", testSchemaMatchesSQLite},
	{"AuditRefusesTruncate", testAuditRefusesTruncate},
	{"Streamed", TestStreamed},
	{"StreamedMatchesOneSlice", TestStreamedMatchesOneSlice},
	{"LargeSnapshotIsCompressed", TestLargeSnapshotIsCompressed},
}

// conformanceTest is one test of the suite.
type conformanceTest struct {
	name string
	fn   func(*testing.T)
}

// TestPostgres runs the conformance suite against PostgreSQL.
func TestPostgres(t *testing.T) {
	storetest.PostgresBase(t)
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
	return storetest.Schema(tb)
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
