-- 0007: nhiscan serve's schedules (internal/schedule). One row per job
-- name: the scheduled time (slot) its last run served, when that run
-- started and ended and how it ended, and the slot of its last successful
-- run, which the missed-run policy compares with the job's schedule after
-- a restart. Times are RFC 3339 text, as on SQLite.

CREATE TABLE schedule_runs (
    job          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    last_slot    TEXT COLLATE "C" NOT NULL,
    last_started TEXT COLLATE "C" NOT NULL,
    last_ended   TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_status  TEXT COLLATE "C" NOT NULL CHECK (last_status IN ('running', 'ok', 'failed', 'interrupted')),
    last_detail  TEXT COLLATE "C" NOT NULL DEFAULT '',
    ok_slot      TEXT COLLATE "C" NOT NULL DEFAULT ''
);

-- The webhook's delivery journal (internal/webhook): one row per notice,
-- by its idempotency key. A notice is recorded pending before the first
-- attempt and sent, failed or dry-run after; a sent or dry-run notice is
-- never posted again. Metadata only: the payload and the URL are not kept.
CREATE TABLE webhook_deliveries (
    key      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    event    TEXT COLLATE "C" NOT NULL,
    status   TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dry-run')),
    attempts BIGINT NOT NULL DEFAULT 0,
    detail   TEXT COLLATE "C" NOT NULL DEFAULT '',
    at       TEXT COLLATE "C" NOT NULL
);
