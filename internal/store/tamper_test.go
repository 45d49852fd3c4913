package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// tamperStore returns the path of a closed database with three finished
// scans with findings and a certification of scan 2 in the audit log.
func tamperStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st, path, _ := newStore(t)
	fs := []nhi.Finding{
		finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh),
		finding("orphaned", nhi.GitHub, "acme", "deploy-key:9", nhi.SevCritical),
	}
	for i := 0; i < 3; i++ {
		at := t0.Add(time.Duration(i) * 24 * time.Hour)
		own := map[string]nhi.Ownership{fs[0].IdentityID: {RoleID: "ci", Owner: "alice@example.com", OwnerStatus: "active"}}
		if err := st.FinishScan(ctx, mustBegin(t, st, at), store.FinishInput{Ended: at.Add(time.Minute), Inventory: inventory(),
			Findings: fs[:1+i%2], Ownership: own, Lifecycle: analyzer.Lifecycle}); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			sc, err := st.Scan(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Audit(ctx, store.AuditEntry{At: at.Add(time.Hour), Actor: "grace", Action: "certification.record", Subject: "scan:2",
				Detail: map[string]string{"snapshot_sha256": sc.InventorySHA256}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// attacker opens the database as someone with write access to the file
// would: the append-only and immutability triggers are dropped first.
func attacker(t *testing.T, path string) *sql.DB {
	t.Helper()
	db := rawDB(t, path)
	dropTriggers(t, db)
	return db
}

// dropTriggers drops every trigger of the database.
func dropTriggers(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, q := range triggerDrops(t, db, strings.Contains(fmt.Sprintf("%T", db.Driver()), "stdlib")) {
		mustExec(t, db, q)
	}
}

// TestFinishedScanDataIsImmutable: the schema refuses to update or delete
// what a finished scan stored (an accident, not an attacker, who can drop
// the triggers: TestTamperingIsDetected).
func TestFinishedScanDataIsImmutable(t *testing.T) {
	path := tamperStore(t)
	db := rawDB(t, path)
	for _, q := range []string{
		"UPDATE snapshots SET sha256 = 'x'", "DELETE FROM snapshots",
		"UPDATE scan_findings SET body = '{}'", "DELETE FROM scan_findings",
		"UPDATE finding_events SET at = 'x'", "DELETE FROM finding_events",
		"UPDATE scan_ownership SET body = '{}'", "DELETE FROM scan_ownership",
		"UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log",
	} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "immutable") && !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// forgedSnapshot is scan 2's inventory without its AWS user: the identity
// an attacker wants out of the record.
func forgedSnapshot(t *testing.T) []byte {
	t.Helper()
	inv := inventory()
	inv.Identities = inv.Identities[:1]
	var b strings.Builder
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

// rebuildChain recomputes every audit hash and the head, as an attacker
// who read the (public) hash construction would after editing an entry.
func rebuildChain(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query("SELECT seq, at, actor, action, subject, detail FROM audit_log ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		seq                                int64
		at, actor, action, subject, detail string
	}
	var es []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.seq, &e.at, &e.actor, &e.action, &e.subject, &e.detail); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	rows.Close()
	prev := ""
	for _, e := range es {
		b, _ := json.Marshal([]any{"nhiscan-audit-v1", e.seq, prev, e.at, e.actor, e.action, e.subject, e.detail})
		h := hexSHA(b)
		mustExec(t, db, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", prev, h, e.seq)
		prev = h
	}
	mustExec(t, db, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", es[len(es)-1].seq, prev)
}

// verifyAll opens the database read-only and runs every check: the chain,
// the stored data against it, and the anchor (seq, hash) when given.
func verifyAll(t *testing.T, path string, anchor *store.AuditHead) (chain, stored, anchored error) {
	t.Helper()
	ctx := context.Background()
	st := openReadOnly(t, path, &clock{t: t0})
	defer st.Close()
	_, chain = st.VerifyAudit(ctx)
	_, stored = st.VerifyStored(ctx)
	if anchor != nil {
		anchored = st.CheckAnchor(ctx, anchor.Seq, anchor.Hash)
	}
	return chain, stored, anchored
}

func headOf(t *testing.T, path string) store.AuditHead {
	t.Helper()
	st := openReadOnly(t, path, &clock{t: t0})
	defer st.Close()
	h, err := st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestIntactDatabaseVerifies: an untouched database passes every check,
// and VerifyStored says what it checked.
func TestIntactDatabaseVerifies(t *testing.T) {
	path := tamperStore(t)
	head := headOf(t, path)
	if head.Seq != 7 || head.Hash == "" || head.At.IsZero() {
		t.Fatalf("head = %+v, want entry 7", head)
	}
	chain, stored, anchored := verifyAll(t, path, &head)
	if chain != nil || stored != nil || anchored != nil {
		t.Fatalf("intact database: chain %v, stored %v, anchor %v", chain, stored, anchored)
	}
	st := openReadOnly(t, path, &clock{t: t0})
	rep, err := st.VerifyStored(context.Background())
	if err != nil || rep.Scans != 3 || rep.Snapshots != 3 || rep.Findings != 3 || len(rep.FindingsNotRecorded) != 0 {
		t.Errorf("VerifyStored = %+v, %v; want 3 scans, snapshots and finding sets verified", rep, err)
	}
	if ok, err := st.VerifyScan(context.Background(), 2); !ok || err != nil {
		t.Errorf("VerifyScan(2) = %v, %v", ok, err)
	}
}

// TestTamperingIsDetected: each way someone with write access to the
// database file could rewrite history is detected by the chain, by the
// stored data's check against the hashes the log recorded, or — for a
// chain rebuilt from scratch or a deleted tail — by an anchor of the head
// taken before.
func TestTamperingIsDetected(t *testing.T) {
	forged := forgedSnapshot(t)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB)
		// which check must fail, and what it must say
		chain, stored, anchor string
	}{
		{
			name: "replace a snapshot together with its sha256 column",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "UPDATE snapshots SET inventory = ?, sha256 = ? WHERE scan_id = 2", forged, hexSHA(forged))
			},
			stored: "scan 2: the snapshot's sha256 is " + hexSHA(forged) + ", but scan.finish entry 4 recorded",
		},
		{
			name: "edit a snapshot's bytes",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "UPDATE snapshots SET inventory = ? WHERE scan_id = 1", forged)
			},
			stored: "scan 1: the snapshot's bytes hash to " + hexSHA(forged),
		},
		{
			name: "edit a stored finding",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "UPDATE scan_findings SET body = replace(body, '\"high\"', '\"low\"') WHERE scan_id = 2")
			},
			stored: "scan 2: its findings and lifecycle events hash to",
		},
		{
			name: "edit a scan's owner resolution",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "UPDATE scan_ownership SET body = replace(body, 'alice@', 'mallory@') WHERE scan_id = 2")
			},
			stored: "scan 2: its owner resolution hashes to",
		},
		{
			name: "delete a scan's lifecycle events",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "DELETE FROM finding_events WHERE scan_id = 3")
			},
			stored: "scan 3: its findings and lifecycle events hash to",
		},
		{
			name: "delete the log's tail and fix the head",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "DELETE FROM audit_log WHERE seq >= 7")
				mustExec(t, db, "UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_log WHERE seq = 6)")
			},
			stored: "scan 3: complete, but the audit log has no scan.finish entry",
			anchor: "the anchor recorded entry 7, but the log ends at 6 (tail deleted)",
		},
		{
			name: "rebuild the chain after an edit",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "UPDATE snapshots SET inventory = ?, sha256 = ? WHERE scan_id = 2", forged, hexSHA(forged))
				mustExec(t, db, "UPDATE audit_log SET detail = replace(detail, (SELECT sha256 FROM snapshots WHERE scan_id = 1), ?) WHERE seq IN (4, 5)", hexSHA(forged))
				rebuildChain(t, db)
			},
			anchor: "(the chain was rebuilt after an edit)",
		},
		{
			name: "append a forged scan.finish",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "UPDATE snapshots SET inventory = ?, sha256 = ? WHERE scan_id = 2", forged, hexSHA(forged))
				mustExec(t, db, `INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
					SELECT 8, at, actor, action, subject, replace(detail, (SELECT sha256 FROM snapshots WHERE scan_id = 1), ?), '', '' FROM audit_log WHERE seq = 4`, hexSHA(forged))
				rebuildChain(t, db)
			},
			// Appending changes no earlier hash: the anchor still holds.
			stored: "scan 2: 2 scan.finish entries (4 and 8): one was appended",
		},
		{
			name: "append a forged certification",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, `INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
					VALUES (8, '2026-03-05T00:00:00.000000000Z', 'mallory', 'certification.record', 'scan:2', ?, '', '')`,
					`{"snapshot_sha256":"`+hexSHA(forged)+`"}`)
				mustExec(t, db, "UPDATE audit_head SET seq = 8")
				rebuildChain(t, db)
			},
			stored: "audit entry 8 (certification.record) names snapshot sha256 " + hexSHA(forged),
		},
		{
			name: "edit an entry without rebuilding",
			tamper: func(t *testing.T, db *sql.DB) {
				mustExec(t, db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 6")
			},
			chain: "at seq 6: content does not match its hash (entry edited)",
		},
		{
			name: "delete a scan",
			tamper: func(t *testing.T, db *sql.DB) {
				// Foreign keys off, on the one connection rawDB keeps.
				if onPostgres(t) {
					mustExec(t, db, "SET session_replication_role = replica")
				} else {
					mustExec(t, db, "PRAGMA foreign_keys = OFF")
				}
				for _, table := range []string{"finding_events", "scan_findings", "scan_ownership", "snapshots"} {
					mustExec(t, db, "DELETE FROM "+table+" WHERE scan_id = 3")
				}
				mustExec(t, db, "DELETE FROM scans WHERE id = 3")
			},
			stored: "recorded the end of scan:3, which the database no longer holds (scan deleted)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tamperStore(t)
			head := headOf(t, path)
			db := attacker(t, path)
			tc.tamper(t, db)
			db.Close()
			chain, stored, anchored := verifyAll(t, path, &head)
			for _, c := range []struct {
				what string
				err  error
				want string
				is   error
			}{
				{"chain", chain, tc.chain, store.ErrAuditBroken},
				{"stored data", stored, tc.stored, store.ErrNotAsRecorded},
				{"anchor", anchored, tc.anchor, store.ErrAuditBroken},
			} {
				switch {
				case c.want == "" && c.err != nil && tc.chain == "":
					t.Errorf("%s: unexpected failure: %v", c.what, c.err)
				case c.want != "" && (!errors.Is(c.err, c.is) || !strings.Contains(c.err.Error(), c.want)):
					t.Errorf("%s: %v; want %v saying %q", c.what, c.err, c.is, c.want)
				}
			}
			if tc.chain == "" && tc.stored == "" && tc.anchor == "" {
				t.Fatal("a tamper case must be detected by something")
			}
		})
	}
}

// TestScansStoredBeforeFindingsHashes: a scan whose scan.finish entry
// records no findings_sha256 (stored by an earlier nhiscan) has its
// snapshot verified and its findings listed as not verified, never as
// verified.
func TestScansStoredBeforeFindingsHashes(t *testing.T) {
	path := tamperStore(t)
	db := rawDB(t, path)
	dropTriggers(t, db)
	if onPostgres(t) {
		mustExec(t, db, "UPDATE audit_log SET detail = (detail::jsonb - 'findings_sha256')::text WHERE seq = 2")
	} else {
		mustExec(t, db, "UPDATE audit_log SET detail = json_remove(detail, '$.findings_sha256') WHERE seq = 2")
	}
	rebuildChain(t, db)
	db.Close()
	st := openReadOnly(t, path, &clock{t: t0})
	rep, err := st.VerifyStored(context.Background())
	if err != nil || rep.Snapshots != 3 || rep.Findings != 2 || len(rep.FindingsNotRecorded) != 1 || rep.FindingsNotRecorded[0] != 1 {
		t.Errorf("VerifyStored = %+v, %v; want scan 1's findings not verified", rep, err)
	}
	if ok, err := st.VerifyScan(context.Background(), 1); ok || err != nil {
		t.Errorf("VerifyScan(1) = %v, %v; want not verified, no problem", ok, err)
	}
}
