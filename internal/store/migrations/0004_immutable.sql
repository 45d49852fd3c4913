-- 0004: what a finished scan stored is immutable, as the audit log is: its
-- snapshot, its findings, its lifecycle events and its owner resolution.
-- The scan.finish audit entry records their hashes, which VerifyStored
-- checks; these triggers refuse an accidental UPDATE or DELETE. They do not
-- stop someone who can write the file, who can drop them (docs/evidence.md,
-- "What the audit log can and cannot prove").
CREATE TRIGGER snapshots_no_update BEFORE UPDATE ON snapshots
BEGIN
    SELECT RAISE(ABORT, 'snapshots are immutable');
END;
CREATE TRIGGER snapshots_no_delete BEFORE DELETE ON snapshots
BEGIN
    SELECT RAISE(ABORT, 'snapshots are immutable');
END;
CREATE TRIGGER scan_findings_no_update BEFORE UPDATE ON scan_findings
BEGIN
    SELECT RAISE(ABORT, 'scan_findings are immutable');
END;
CREATE TRIGGER scan_findings_no_delete BEFORE DELETE ON scan_findings
BEGIN
    SELECT RAISE(ABORT, 'scan_findings are immutable');
END;
CREATE TRIGGER finding_events_no_update BEFORE UPDATE ON finding_events
BEGIN
    SELECT RAISE(ABORT, 'finding_events are immutable');
END;
CREATE TRIGGER finding_events_no_delete BEFORE DELETE ON finding_events
BEGIN
    SELECT RAISE(ABORT, 'finding_events are immutable');
END;
CREATE TRIGGER scan_ownership_no_update BEFORE UPDATE ON scan_ownership
BEGIN
    SELECT RAISE(ABORT, 'scan_ownership is immutable');
END;
CREATE TRIGGER scan_ownership_no_delete BEFORE DELETE ON scan_ownership
BEGIN
    SELECT RAISE(ABORT, 'scan_ownership is immutable');
END;
