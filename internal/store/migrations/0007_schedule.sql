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
