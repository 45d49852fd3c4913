package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/store"
)

// TestScheduleRuns: a job's last run survives a reopen; only a run that
// ended ok moves the last successful slot, which the missed-run policy
// reads.
func TestScheduleRuns(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)
	if _, ok, err := st.LastScheduleRun(ctx, "nightly"); ok || err != nil {
		t.Fatalf("a job that never ran: %v %v", ok, err)
	}
	slot1 := t0.Add(2 * time.Hour)
	if err := st.BeginScheduleRun(ctx, "nightly", slot1, slot1.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.EndScheduleRun(ctx, "nightly", slot1.Add(time.Minute), store.RunOK, ""); err != nil {
		t.Fatal(err)
	}
	slot2 := slot1.Add(24 * time.Hour)
	if err := st.BeginScheduleRun(ctx, "nightly", slot2, slot2); err != nil {
		t.Fatal(err)
	}
	if err := st.EndScheduleRun(ctx, "nightly", slot2.Add(time.Minute), store.RunInterrupted, "context canceled"); err != nil {
		t.Fatal(err)
	}
	if err := st.EndScheduleRun(ctx, "other", slot2, store.RunOK, ""); err == nil {
		t.Error("ending a run never begun was accepted")
	}
	if err := st.EndScheduleRun(ctx, "nightly", slot2, "weird", ""); err == nil {
		t.Error("an unknown status was accepted")
	}
	st.Close()
	st = openAt(t, path, c)
	defer st.Close()
	r, ok, err := st.LastScheduleRun(ctx, "nightly")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !r.Slot.Equal(slot2) || r.Status != store.RunInterrupted || r.Detail != "context canceled" || !r.OKSlot.Equal(slot1) {
		t.Errorf("last run = %+v; want slot %s interrupted, last ok slot %s", r, slot2, slot1)
	}
}

// TestWebhookDeliveries: the journal keeps each notice's latest status and
// adds up its attempts.
func TestWebhookDeliveries(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	defer st.Close()
	if s, err := st.DeliveryStatus(ctx, "k"); s != "" || err != nil {
		t.Fatalf("unknown key: %q %v", s, err)
	}
	for _, step := range []struct {
		status   string
		attempts int
	}{{"pending", 0}, {"failed", 3}, {"pending", 0}, {"sent", 1}} {
		if err := st.RecordDelivery(ctx, "k", "critical-finding", step.status, step.attempts, "", t0); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := st.DeliveryStatus(ctx, "k"); s != "sent" || err != nil {
		t.Errorf("status = %q %v", s, err)
	}
	if err := st.RecordDelivery(ctx, "k2", "critical-finding", "lost", 0, "", t0); err == nil {
		t.Error("an unknown status was accepted")
	}
}
