-- 0007: nhiscan serve's schedules (internal/schedule). One row per job
-- name: the scheduled time (slot) its last run served, when that run
-- started and ended and how it ended, and the slot of its last successful
-- run, which the missed-run policy compares with the job's schedule after
-- a restart. Plain SQL: TEXT times in RFC 3339, no engine-specific syntax.

CREATE TABLE schedule_runs (
    job          TEXT NOT NULL PRIMARY KEY,
    last_slot    TEXT NOT NULL,
    last_started TEXT NOT NULL,
    last_ended   TEXT NOT NULL DEFAULT '',
    last_status  TEXT NOT NULL CHECK (last_status IN ('running', 'ok', 'failed', 'interrupted')),
    last_detail  TEXT NOT NULL DEFAULT '',
    ok_slot      TEXT NOT NULL DEFAULT ''
);

-- The webhook's delivery journal (internal/webhook): one row per notice,
-- by its idempotency key. A notice is recorded pending before the first
-- attempt and sent, failed or dry-run after; a sent or dry-run notice is
-- never posted again. Metadata only: the payload and the URL are not kept.
CREATE TABLE webhook_deliveries (
    key      TEXT    NOT NULL PRIMARY KEY,
    event    TEXT    NOT NULL,
    status   TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dry-run')),
    attempts INTEGER NOT NULL DEFAULT 0,
    detail   TEXT    NOT NULL DEFAULT '',
    at       TEXT    NOT NULL
);
