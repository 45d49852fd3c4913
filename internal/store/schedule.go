package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ScheduleRun is the last run of one scheduled job of nhiscan serve
// (internal/schedule): the slot (scheduled time) it served, when it started
// and ended, how it ended, and the slot of the job's last successful run.
type ScheduleRun struct {
	Job     string
	Slot    time.Time
	Started time.Time
	// Ended is zero while the run is running (or when its process died).
	Ended time.Time
	// Status is running, ok, failed or interrupted.
	Status string
	Detail string
	// OKSlot is the slot of the last run that ended ok; zero if none did.
	OKSlot time.Time
}

// Schedule run statuses.
const (
	RunRunning     = "running"
	RunOK          = "ok"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// LastScheduleRun returns job's last run; ok is false when it never ran.
func (s *Store) LastScheduleRun(ctx context.Context, job string) (r ScheduleRun, ok bool, err error) {
	var slot, started, ended, okSlot string
	err = s.db.QueryRowContext(ctx, `SELECT job, last_slot, last_started, last_ended, last_status, last_detail, ok_slot
		FROM schedule_runs WHERE job = ?`, job).Scan(&r.Job, &slot, &started, &ended, &r.Status, &r.Detail, &okSlot)
	if errors.Is(err, sql.ErrNoRows) {
		return ScheduleRun{}, false, nil
	}
	if err != nil {
		return ScheduleRun{}, false, fmt.Errorf("schedule run %q: %w", job, err)
	}
	for _, t := range []struct {
		s   string
		dst *time.Time
	}{{slot, &r.Slot}, {started, &r.Started}, {ended, &r.Ended}, {okSlot, &r.OKSlot}} {
		if t.s == "" {
			continue
		}
		if *t.dst, err = parseTime(t.s); err != nil {
			return ScheduleRun{}, false, fmt.Errorf("schedule run %q: %w", job, err)
		}
	}
	return r, true, nil
}

// BeginScheduleRun records that job started a run for slot.
func (s *Store) BeginScheduleRun(ctx context.Context, job string, slot, started time.Time) error {
	if err := s.writable("begin schedule run"); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO schedule_runs (job, last_slot, last_started, last_ended, last_status, last_detail)
		VALUES (?, ?, ?, '', 'running', '')
		ON CONFLICT (job) DO UPDATE SET last_slot = excluded.last_slot, last_started = excluded.last_started,
			last_ended = '', last_status = 'running', last_detail = ''`,
		job, formatTime(slot), formatTime(started))
	if err != nil {
		return fmt.Errorf("begin schedule run %q: %w", job, err)
	}
	return nil
}

// EndScheduleRun records how job's current run ended: ok, failed or
// interrupted. An ok run also becomes the job's last successful slot.
func (s *Store) EndScheduleRun(ctx context.Context, job string, ended time.Time, status, detail string) error {
	if err := s.writable("end schedule run"); err != nil {
		return err
	}
	switch status {
	case RunOK, RunFailed, RunInterrupted:
	default:
		return fmt.Errorf("end schedule run %q: status %q", job, status)
	}
	q := `UPDATE schedule_runs SET last_ended = ?, last_status = ?, last_detail = ? WHERE job = ?`
	if status == RunOK {
		q = `UPDATE schedule_runs SET last_ended = ?, last_status = ?, last_detail = ?, ok_slot = last_slot WHERE job = ?`
	}
	res, err := s.db.ExecContext(ctx, q, formatTime(ended), status, detail, job)
	if err != nil {
		return fmt.Errorf("end schedule run %q: %w", job, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("end schedule run %q: no run begun", job)
	}
	return nil
}

// DeliveryStatus is the journaled status of the webhook notice key; ""
// when it was never journaled.
func (s *Store) DeliveryStatus(ctx context.Context, key string) (string, error) {
	var st string
	err := s.db.QueryRowContext(ctx, "SELECT status FROM webhook_deliveries WHERE key = ?", key).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("webhook delivery %q: %w", key, err)
	}
	return st, nil
}

// RecordDelivery journals the webhook notice key's status.
func (s *Store) RecordDelivery(ctx context.Context, key, event, status string, attempts int, detail string, at time.Time) error {
	if err := s.writable("record webhook delivery"); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_deliveries (key, event, status, attempts, detail, at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET status = excluded.status, attempts = webhook_deliveries.attempts + excluded.attempts,
			detail = excluded.detail, at = excluded.at`,
		key, event, status, attempts, detail, formatTime(at))
	if err != nil {
		return fmt.Errorf("record webhook delivery %q: %w", key, err)
	}
	return nil
}
