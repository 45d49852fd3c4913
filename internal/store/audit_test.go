package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/store"
)

// auditStore returns a store whose log holds n operator entries.
func auditStore(t *testing.T, n int) (*store.Store, string) {
	t.Helper()
	st, path, _ := newStore(t)
	for i := 1; i <= n; i++ {
		if err := st.Audit(context.Background(), store.AuditEntry{
			At: t0.Add(time.Duration(i) * time.Minute), Actor: "alice@example.com", Action: "credential.disable",
			Subject: fmt.Sprintf("aws:AIDA%d/AKIA%d", i, i), Detail: map[string]string{"ticket": fmt.Sprintf("SEC-%d", i), "before": "Active"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return st, path
}

func TestAuditIntactChainVerifies(t *testing.T) {
	ctx := context.Background()
	st, _ := auditStore(t, 3)
	id := mustBegin(t, st, t0)
	mustFinish(t, st, id, t0.Add(time.Hour), inventory(), nil)

	n, err := st.VerifyAudit(ctx)
	if err != nil || n != 5 {
		t.Fatalf("VerifyAudit = %d, %v; want 5, nil", n, err)
	}
	recs, err := st.AuditEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, r := range recs {
		got = append(got, fmt.Sprintf("%d %s %s", r.Seq, r.Action, r.Subject))
		if i > 0 && r.PrevHash != recs[i-1].Hash {
			t.Errorf("entry %d prev_hash does not chain", r.Seq)
		}
	}
	want := []string{
		"1 credential.disable aws:AIDA1/AKIA1", "2 credential.disable aws:AIDA2/AKIA2", "3 credential.disable aws:AIDA3/AKIA3",
		"4 scan.begin scan:1", "5 scan.finish scan:1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(store.AuditEntry{At: t0.Add(time.Minute), Actor: "alice@example.com", Action: "credential.disable",
		Subject: "aws:AIDA1/AKIA1", Detail: map[string]string{"ticket": "SEC-1", "before": "Active"}}, recs[0].AuditEntry); diff != "" {
		t.Errorf("first entry (-want +got):\n%s", diff)
	}
	if d := recs[4].Detail; d["status"] != "complete" || d["inventory_sha256"] != inventory().Hash() {
		t.Errorf("scan.finish detail = %v", d)
	}
	if n, err := newEmptyVerify(t); err != nil || n != 0 {
		t.Errorf("empty log: %d, %v", n, err)
	}
}

func newEmptyVerify(t *testing.T) (int, error) {
	st, _, _ := newStore(t)
	return st.VerifyAudit(context.Background())
}

func TestAuditTriggersRefuseUpdateAndDelete(t *testing.T) {
	_, path := auditStore(t, 2)
	db := rawDB(t, path)
	for _, q := range []string{"UPDATE audit_log SET actor = 'mallory' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 2"} {
		_, err := db.Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only trigger to refuse it", q, err)
		}
	}
}

func TestAuditTamperingIsDetected(t *testing.T) {
	tests := []struct {
		name    string
		sql     []string
		wantSeq string
		wantWhy string
		wantN   int
	}{
		{"edited actor", []string{"UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"}, "seq 3", "edited", 2},
		{"edited detail", []string{`UPDATE audit_log SET detail = '{"before":"Active","ticket":"SEC-X"}' WHERE seq = 2`}, "seq 2", "edited", 1},
		{"edited time", []string{"UPDATE audit_log SET at = '2020-01-01T00:00:00.000000000Z' WHERE seq = 1"}, "seq 1", "edited", 0},
		{"deleted middle", []string{"DELETE FROM audit_log WHERE seq = 3"}, "seq 3", "deleted", 2},
		{"deleted first", []string{"DELETE FROM audit_log WHERE seq = 1"}, "seq 1", "deleted", 0},
		{"deleted middle and renumbered", []string{"DELETE FROM audit_log WHERE seq = 3",
			"UPDATE audit_log SET seq = seq - 1 WHERE seq > 3"}, "seq 3", "previous hash", 2},
		{"deleted tail", []string{"DELETE FROM audit_log WHERE seq >= 4"}, "seq 4", "tail deleted", 3},
		{"deleted tail and head rewound", []string{"DELETE FROM audit_log WHERE seq = 5",
			"UPDATE audit_head SET seq = 4"}, "seq 4", "head hash", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, path := auditStore(t, 5)
			db := rawDB(t, path)
			dropTriggers(t, db)
			for _, q := range tt.sql {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			n, err := st.VerifyAudit(context.Background())
			if !errors.Is(err, store.ErrAuditBroken) {
				t.Fatalf("VerifyAudit = %d, %v; want ErrAuditBroken", n, err)
			}
			if !strings.Contains(err.Error(), "at "+tt.wantSeq+":") || !strings.Contains(err.Error(), tt.wantWhy) {
				t.Errorf("error %q, want it to name %s and %q", err, tt.wantSeq, tt.wantWhy)
			}
			if n != tt.wantN {
				t.Errorf("verified %d entries before the break, want %d", n, tt.wantN)
			}
		})
	}
}

func TestAuditRejectsIncompleteEntry(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	if err := st.Audit(ctx, store.AuditEntry{Action: "x"}); err == nil {
		t.Error("entry without time accepted")
	}
	if err := st.Audit(ctx, store.AuditEntry{At: t0}); err == nil {
		t.Error("entry without action accepted")
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n != 0 {
		t.Errorf("rejected entries left traces: %d, %v", n, err)
	}
}

func TestAuditConcurrentAppendsKeepTheChain(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)
	reader := openReadOnly(t, path, c) // a reader alongside, like another process
	errs := make(chan error, 50)
	for g := 0; g < 5; g++ {
		go func() {
			for i := 0; i < 10; i++ {
				if g == 4 {
					_, err := reader.VerifyAudit(ctx)
					errs <- err
					continue
				}
				errs <- st.Audit(ctx, store.AuditEntry{At: t0, Actor: fmt.Sprintf("g%d", g), Action: "test.append", Subject: fmt.Sprint(i)})
			}
		}()
	}
	for i := 0; i < 50; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n != 40 {
		t.Fatalf("VerifyAudit = %d, %v; want 40, nil", n, err)
	}
	if err := reader.Audit(ctx, store.AuditEntry{At: t0, Action: "x"}); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Audit on a read-only store = %v, want ErrReadOnly", err)
	}
}
