package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// A snapshot larger than the raw limit is stored compressed (one value of
// either engine holds at most 1 GB): it reads back as the same inventory
// under the same hash, the history verifies, and an edit of the compressed
// bytes is caught by the reader and by verification.
func TestLargeSnapshotIsCompressed(t *testing.T) {
	defer store.SetSnapshotRaw(100)()
	ctx := context.Background()
	st, path, _ := newStore(t)
	inv := inventory()
	id := mustBegin(t, st, t0)
	mustFinish(t, st, id, t0.Add(time.Minute), inv, []nhi.Finding{finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)})
	got, sum, err := st.Snapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := inv
	want.Normalize()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot read back (-want +got):\n%s", diff)
	}
	db := rawDB(t, path)
	var body []byte
	if err := db.QueryRow("SELECT inventory FROM snapshots WHERE scan_id = ?", id).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Fatalf("the snapshot is stored as %q…, not compressed", body[:min(len(body), 20)])
	}
	if rep, err := st.VerifyStored(ctx); err != nil || rep.Snapshots != 1 {
		t.Fatalf("VerifyStored = %+v, %v", rep, err)
	}
	body[len(body)/2] ^= 0xff
	dropTriggers(t, db)
	mustExec(t, db, "UPDATE snapshots SET inventory = ? WHERE scan_id = ?", body, id)
	if _, _, err := st.Snapshot(ctx, id); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Snapshot of an edited compressed snapshot = %v, want ErrCorrupt (recorded %s)", err, sum)
	}
	if _, err := st.VerifyStored(ctx); err == nil {
		t.Error("VerifyStored passed an edited compressed snapshot")
	}
}
