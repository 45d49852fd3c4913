-- 0001: scans, snapshots, findings with their lifecycle, certifications,
-- the ETag cache and the hash-chained audit log.
-- Times are RFC 3339 UTC text with nine fractional digits, so text order is
-- time order.

CREATE TABLE scans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    status       TEXT    NOT NULL CHECK (status IN ('running', 'complete', 'partial', 'failed')),
    started      TEXT    NOT NULL,
    ended        TEXT,
    tool_version TEXT    NOT NULL DEFAULT '',
    catalog_hash TEXT    NOT NULL DEFAULT '',
    source       TEXT    NOT NULL DEFAULT '',
    reason       TEXT    NOT NULL DEFAULT '',
    scopes       TEXT    NOT NULL DEFAULT '[]', -- JSON array of nhi.Scope
    gaps         TEXT    NOT NULL DEFAULT '[]', -- JSON array of nhi.Gap
    identities   INTEGER NOT NULL DEFAULT 0,
    findings     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX scans_status ON scans (status, id);

-- The inventory snapshot of each finished scan: canonical JSON (nhi.Encode)
-- and its SHA-256.
CREATE TABLE snapshots (
    scan_id   INTEGER PRIMARY KEY REFERENCES scans (id),
    sha256    TEXT NOT NULL,
    inventory BLOB NOT NULL
);

-- Every finding of every finished scan, as JSON, so any past scan's
-- findings can be read back exactly.
CREATE TABLE scan_findings (
    scan_id     INTEGER NOT NULL REFERENCES scans (id),
    fingerprint TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (scan_id, fingerprint)
) WITHOUT ROWID;

-- The lifecycle of each finding, keyed by fingerprint; body is the latest
-- JSON of the finding.
CREATE TABLE findings (
    id            INTEGER PRIMARY KEY,
    fingerprint   TEXT    NOT NULL UNIQUE,
    status        TEXT    NOT NULL CHECK (status IN ('open', 'resolved', 'suppressed')),
    rule_id       TEXT    NOT NULL,
    family        TEXT    NOT NULL,
    severity      TEXT    NOT NULL,
    severity_rank INTEGER NOT NULL,
    provider      TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    identity_id   TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    first_seen    TEXT    NOT NULL,
    last_seen     TEXT    NOT NULL,
    resolved_at   TEXT,
    first_scan_id INTEGER NOT NULL REFERENCES scans (id),
    last_scan_id  INTEGER NOT NULL REFERENCES scans (id),
    reopened      INTEGER NOT NULL DEFAULT 0,
    reopened_at   TEXT,
    body          TEXT    NOT NULL
);
CREATE INDEX findings_status ON findings (status);

-- What changed in each scan: new, reopened, resolved, suppressed, unsuppressed.
CREATE TABLE finding_events (
    scan_id     INTEGER NOT NULL REFERENCES scans (id),
    fingerprint TEXT    NOT NULL REFERENCES findings (fingerprint),
    event       TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    PRIMARY KEY (scan_id, fingerprint, event)
) WITHOUT ROWID;

CREATE TABLE certifications (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    at   TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE etags (
    key     TEXT PRIMARY KEY,
    etag    TEXT NOT NULL,
    body    BLOB NOT NULL,
    updated TEXT NOT NULL
) WITHOUT ROWID;

-- The append-only audit log. hash = SHA-256(prev_hash, canonical entry).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL, -- canonical JSON object, sorted keys
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

-- The head of the chain, updated in the same transaction as each append, so
-- a deleted tail is detected.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
