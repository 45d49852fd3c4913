-- 0004: PLACEHOLDER on the w2-campaign branch only. Migration 0004 belongs
-- to another branch of the same round of work; when that branch is merged,
-- delete this file (store.loadMigrations refuses two migrations numbered
-- 0004, so a forgotten placeholder fails every test that opens a store).
SELECT 1;
