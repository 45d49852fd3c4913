-- 0002: the analyzer's role and owner resolution of each finished scan, and
-- the evaluation ("as of") time the scan was analysed at, so evidence and
-- reports of a past scan show the owners as they were resolved then.
CREATE TABLE scan_ownership (
    scan_id BIGINT PRIMARY KEY REFERENCES scans (id),
    body    TEXT COLLATE "C" NOT NULL
);

ALTER TABLE scans ADD COLUMN evaluated_at TEXT COLLATE "C" NOT NULL DEFAULT '';
