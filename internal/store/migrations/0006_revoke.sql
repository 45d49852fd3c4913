-- 0006: the revocation workflow (docs/revocation.md). A plan is one stage's
-- actions built from one scan, stored whole as JSON (revoke.Plan) and never
-- changed. The journal records each action's steps: a begin row just before
-- the provider is asked to act, then done, refused, failed or unverified;
-- an action is done at most once per phase (a unique index), so a run that
-- died between two actions resumes without acting twice. Remediations link
-- a finding a later scan resolved to the applied action that resolved it.
-- All three tables are append-only: triggers refuse UPDATE and DELETE.

CREATE TABLE revoke_plans (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id    INTEGER NOT NULL REFERENCES scans (id),
    stage      TEXT    NOT NULL CHECK (stage IN ('notify', 'disable', 'delete')),
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    body       TEXT    NOT NULL, -- JSON revoke.Plan, actions included
    sha256     TEXT    NOT NULL  -- of body
);

CREATE TABLE revoke_journal (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id   INTEGER NOT NULL REFERENCES revoke_plans (id),
    action_id INTEGER NOT NULL,
    phase     TEXT    NOT NULL CHECK (phase IN ('apply', 'rollback')),
    step      TEXT    NOT NULL CHECK (step IN ('begin', 'done', 'refused', 'failed', 'unverified')),
    approver  TEXT    NOT NULL,
    at        TEXT    NOT NULL,
    body      TEXT    NOT NULL -- JSON revoke.Entry
);
CREATE INDEX revoke_journal_plan ON revoke_journal (plan_id, seq);
CREATE UNIQUE INDEX revoke_journal_done ON revoke_journal (plan_id, action_id, phase) WHERE step = 'done';

CREATE TABLE revoke_remediations (
    plan_id     INTEGER NOT NULL REFERENCES revoke_plans (id),
    action_id   INTEGER NOT NULL,
    fingerprint TEXT    NOT NULL REFERENCES findings (fingerprint),
    scan_id     INTEGER NOT NULL REFERENCES scans (id),
    at          TEXT    NOT NULL,
    PRIMARY KEY (plan_id, action_id, fingerprint)
) WITHOUT ROWID;

CREATE TRIGGER revoke_plans_no_update BEFORE UPDATE ON revoke_plans
BEGIN
    SELECT RAISE(ABORT, 'revoke_plans is append-only');
END;
CREATE TRIGGER revoke_plans_no_delete BEFORE DELETE ON revoke_plans
BEGIN
    SELECT RAISE(ABORT, 'revoke_plans is append-only');
END;
CREATE TRIGGER revoke_journal_no_update BEFORE UPDATE ON revoke_journal
BEGIN
    SELECT RAISE(ABORT, 'revoke_journal is append-only');
END;
CREATE TRIGGER revoke_journal_no_delete BEFORE DELETE ON revoke_journal
BEGIN
    SELECT RAISE(ABORT, 'revoke_journal is append-only');
END;
CREATE TRIGGER revoke_remediations_no_update BEFORE UPDATE ON revoke_remediations
BEGIN
    SELECT RAISE(ABORT, 'revoke_remediations is append-only');
END;
CREATE TRIGGER revoke_remediations_no_delete BEFORE DELETE ON revoke_remediations
BEGIN
    SELECT RAISE(ABORT, 'revoke_remediations is append-only');
END;
