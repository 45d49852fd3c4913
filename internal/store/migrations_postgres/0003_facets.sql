-- 0003: coverage by facet.
-- findings.facets: the facets the finding was judged from (JSON array of
--   nhi.Facet); '' for findings stored before facets, which a scan resolves
--   only when it observed their whole scope.
-- findings.resolved_scan_id: the scan that resolved the finding (NULL while
--   it is open or suppressed, and for findings resolved by hand with
--   RetireScope or before this migration).
-- findings.hidden: when the latest scan kept the finding without
--   re-evaluating it (a facet it rests on was not observed), why (JSON
--   nhi.Hidden: the facet and the gap); '' otherwise.
-- finding_events.detail: for a not-reevaluated event, the same JSON.
-- scans.coverage: the scan's coverage matrix (JSON array of scope x facet
--   cells, observed or the gap); '' for scans stored before this migration.
ALTER TABLE findings ADD COLUMN facets TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN resolved_scan_id BIGINT REFERENCES scans (id);
ALTER TABLE findings ADD COLUMN hidden TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE finding_events ADD COLUMN detail TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE scans ADD COLUMN coverage TEXT COLLATE "C" NOT NULL DEFAULT '';
