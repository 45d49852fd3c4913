-- 0004: what a finished scan stored is immutable, as the audit log is: its
-- snapshot, its findings, its lifecycle events and its owner resolution.
-- The scan.finish audit entry records their hashes, which VerifyStored
-- checks; these triggers refuse an accidental UPDATE or DELETE. They do not
-- stop someone who can write the file, who can drop them (docs/evidence.md,
-- "What the audit log can and cannot prove").
CREATE TRIGGER snapshots_no_update BEFORE UPDATE ON snapshots FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('snapshots are immutable');
CREATE TRIGGER snapshots_no_delete BEFORE DELETE ON snapshots FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('snapshots are immutable');
CREATE TRIGGER scan_findings_no_update BEFORE UPDATE ON scan_findings FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('scan_findings are immutable');
CREATE TRIGGER scan_findings_no_delete BEFORE DELETE ON scan_findings FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('scan_findings are immutable');
CREATE TRIGGER finding_events_no_update BEFORE UPDATE ON finding_events FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('finding_events are immutable');
CREATE TRIGGER finding_events_no_delete BEFORE DELETE ON finding_events FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('finding_events are immutable');
CREATE TRIGGER scan_ownership_no_update BEFORE UPDATE ON scan_ownership FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('scan_ownership is immutable');
CREATE TRIGGER scan_ownership_no_delete BEFORE DELETE ON scan_ownership FOR EACH ROW
EXECUTE FUNCTION nhiscan_refuse('scan_ownership is immutable');
