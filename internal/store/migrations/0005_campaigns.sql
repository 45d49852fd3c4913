-- 0005: recertification campaigns. A campaign is built from one scan; its
-- items (an identity and, below it, each credential and grant) are fixed at
-- creation. Who holds an item, every decision on it, and every notice sent
-- about it are append-only logs: triggers refuse UPDATE and DELETE, as on
-- the audit log. Only the campaign row itself moves (draft -> open ->
-- closed), and every move is audited by the store.

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    scan_id    INTEGER NOT NULL REFERENCES scans (id),
    state      TEXT    NOT NULL CHECK (state IN ('draft', 'open', 'closed')),
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    opened_at  TEXT    NOT NULL DEFAULT '',
    deadline   TEXT    NOT NULL,
    closed_at  TEXT    NOT NULL DEFAULT '',
    filter     TEXT    NOT NULL, -- JSON campaign.Filter
    policy     TEXT    NOT NULL, -- JSON campaign.Policy
    summary    TEXT    NOT NULL DEFAULT '' -- JSON campaign.KPIs, set at close
);

-- The items, numbered from 1 in each campaign; body is the JSON item with
-- its context (the reviewer is in campaign_assignments).
CREATE TABLE campaign_items (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    item_id     INTEGER NOT NULL,
    parent_id   INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    identity_id TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, item_id)
) WITHOUT ROWID;

-- Who holds each identity item (its credentials and grants follow it), in
-- order: the routing, then reassignments, "don't know" and escalations.
CREATE TABLE campaign_assignments (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    item_id     INTEGER NOT NULL,
    reviewer    TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    FOREIGN KEY (campaign_id, item_id) REFERENCES campaign_items (campaign_id, item_id)
);
CREATE INDEX campaign_assignments_item ON campaign_assignments (campaign_id, item_id, seq);

-- Every decision, in order; a later one on the same item supersedes an
-- earlier one. The same transaction appends it to the audit log.
CREATE TABLE campaign_decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id),
    item_id       INTEGER NOT NULL,
    reviewer      TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('certify', 'revoke', 'reduce', 'reassign', 'dont-know', 'unanswered')),
    until         TEXT    NOT NULL DEFAULT '',
    grants        TEXT    NOT NULL DEFAULT '[]', -- JSON array of grant ids (reduce)
    reassign_to   TEXT    NOT NULL DEFAULT '',
    justification TEXT    NOT NULL DEFAULT '',
    bulk_id       TEXT    NOT NULL DEFAULT '',
    conflict      TEXT    NOT NULL DEFAULT '',
    default_to    TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL,
    client        TEXT    NOT NULL DEFAULT '',
    at            TEXT    NOT NULL,
    FOREIGN KEY (campaign_id, item_id) REFERENCES campaign_items (campaign_id, item_id)
);
CREATE INDEX campaign_decisions_campaign ON campaign_decisions (campaign_id, id);

-- The delivery log: one row per notice key per attempt. A key sent once is
-- never sent again (campaign send and remind are idempotent); failures are
-- kept beside the later success.
CREATE TABLE campaign_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    key         TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    transport   TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('sent', 'failed')),
    message_id  TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    at          TEXT    NOT NULL
);
CREATE UNIQUE INDEX campaign_deliveries_sent ON campaign_deliveries (campaign_id, key) WHERE status = 'sent';

CREATE TRIGGER campaign_items_no_update BEFORE UPDATE ON campaign_items
BEGIN
    SELECT RAISE(ABORT, 'campaign_items is append-only');
END;
CREATE TRIGGER campaign_items_no_delete BEFORE DELETE ON campaign_items
BEGIN
    SELECT RAISE(ABORT, 'campaign_items is append-only');
END;
CREATE TRIGGER campaign_assignments_no_update BEFORE UPDATE ON campaign_assignments
BEGIN
    SELECT RAISE(ABORT, 'campaign_assignments is append-only');
END;
CREATE TRIGGER campaign_assignments_no_delete BEFORE DELETE ON campaign_assignments
BEGIN
    SELECT RAISE(ABORT, 'campaign_assignments is append-only');
END;
CREATE TRIGGER campaign_decisions_no_update BEFORE UPDATE ON campaign_decisions
BEGIN
    SELECT RAISE(ABORT, 'campaign_decisions is append-only');
END;
CREATE TRIGGER campaign_decisions_no_delete BEFORE DELETE ON campaign_decisions
BEGIN
    SELECT RAISE(ABORT, 'campaign_decisions is append-only');
END;
CREATE TRIGGER campaign_deliveries_no_update BEFORE UPDATE ON campaign_deliveries
BEGIN
    SELECT RAISE(ABORT, 'campaign_deliveries is append-only');
END;
CREATE TRIGGER campaign_deliveries_no_delete BEFORE DELETE ON campaign_deliveries
BEGIN
    SELECT RAISE(ABORT, 'campaign_deliveries is append-only');
END;
-- A closed campaign is final: its row no longer changes.
CREATE TRIGGER campaigns_closed_final BEFORE UPDATE ON campaigns
WHEN OLD.state = 'closed'
BEGIN
    SELECT RAISE(ABORT, 'a closed campaign is final');
END;
CREATE TRIGGER campaigns_no_delete BEFORE DELETE ON campaigns
BEGIN
    SELECT RAISE(ABORT, 'campaigns are never deleted');
END;
