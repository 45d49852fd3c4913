package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/reports"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// The helpers every command that reads or writes the database shares:
// opening it, picking scans, and reading one scan's findings.

// access is how a command uses the database.
type access int

const (
	// readOnly commands never write: the database is opened read-only
	// (it may be an archived copy on read-only storage) and never locked.
	readOnly access = iota
	// readWrite commands write an existing database under the
	// single-writer lock.
	readWrite
	// writeIfWritable commands (export evidence) record what they did in
	// the audit log when the database can be written, and otherwise work
	// read-only and say so.
	writeIfWritable
)

// readStore loads the configuration and opens its existing database for a
// reading command, and closes it when fn returns.
func (a *app) readStore(ctx context.Context, fn func(config.Config, *store.Store) error) error {
	return a.useStore(ctx, readOnly, fn)
}

// writeStore is readStore for a command that writes an existing database.
func (a *app) writeStore(ctx context.Context, fn func(config.Config, *store.Store) error) error {
	return a.useStore(ctx, readWrite, fn)
}

func (a *app) useStore(ctx context.Context, acc access, fn func(config.Config, *store.Store) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	return a.withExisting(ctx, cfg.Database, acc, func(st *store.Store) error { return fn(cfg, st) })
}

// readStoreWithCatalog is readStore for commands that also show roles and
// owners: the catalog is optional and validated before the store opens.
func (a *app) readStoreWithCatalog(ctx context.Context, paths []string, fn func(*catalog.Catalog, *store.Store) error) error {
	return a.storeWithCatalog(ctx, paths, readOnly, fn)
}

func (a *app) storeWithCatalog(ctx context.Context, paths []string, acc access, fn func(*catalog.Catalog, *store.Store) error) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	cat, err := a.optionalCatalog(cfg, paths)
	if err != nil {
		return err
	}
	return a.withExisting(ctx, cfg.Database, acc, func(st *store.Store) error { return fn(cat, st) })
}

// withExisting opens the existing database at path, runs fn and closes it.
func (a *app) withExisting(ctx context.Context, path string, acc access, fn func(*store.Store) error) error {
	st, err := a.openExisting(ctx, path, acc)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// openExisting opens a database that must already exist: no command but
// scan and demo creates one. A PostgreSQL schema without nhiscan's tables
// is refused by the read-only open (fs.ErrNotExist), which a writer makes
// first when the command writes.
func (a *app) openExisting(ctx context.Context, path string, acc access) (*store.Store, error) {
	if store.IsPostgres(path) {
		return a.openExistingPostgres(ctx, path, acc)
	}
	if !fileExists(path) {
		return nil, usagef("database %s does not exist: run 'nhiscan scan' (or 'nhiscan demo') first", path)
	}
	switch {
	case acc == readWrite:
		return a.openStore(ctx, path)
	case acc == writeIfWritable && store.CanWrite(path) == nil:
		return a.openStore(ctx, path)
	}
	return a.openReadOnly(ctx, path)
}

// openExistingPostgres is openExisting for a PostgreSQL database.
func (a *app) openExistingPostgres(ctx context.Context, dsn string, acc access) (*store.Store, error) {
	st, err := a.openReadOnly(ctx, dsn)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usagef("database %s holds no nhiscan history: run 'nhiscan scan' first", store.RedactDSN(dsn))
	}
	if err != nil || acc == readOnly {
		return st, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	return a.openStore(ctx, dsn)
}

// openReadOnly opens the database without writing it. A database of an
// older schema that can be written is migrated first, once, under the
// writer lock; a read-only one is refused as it is.
func (a *app) openReadOnly(ctx context.Context, path string) (*store.Store, error) {
	cfg := store.Config{Path: path, Now: a.now, ReadOnly: true}
	st, err := store.OpenConfig(ctx, cfg)
	if errors.Is(err, store.ErrSchemaOld) && store.CanWrite(path) == nil {
		w, werr := a.openStore(ctx, path)
		if werr != nil {
			return nil, werr
		}
		if werr := w.Close(); werr != nil {
			return nil, werr
		}
		st, err = store.OpenConfig(ctx, cfg)
	}
	if errors.Is(err, store.ErrSchemaOld) {
		return nil, fmt.Errorf("%w (the database cannot be written here: migrate a writable copy with this nhiscan, or read it with the release that wrote it)", err)
	}
	return st, storeOpenErr(path, err)
}

// openStore opens (creating if needed) the database for writing with the
// app's clock, which stamps migrations and the end of scans found
// interrupted. It holds the single-writer lock until Close.
func (a *app) openStore(ctx context.Context, path string) (*store.Store, error) {
	st, err := store.OpenConfig(ctx, store.Config{Path: path, Now: a.now})
	if errors.Is(err, store.ErrScanRunning) && a.lockWait > 0 {
		st, err = a.waitForStore(ctx, path, err)
	}
	return st, storeOpenErr(path, err)
}

// lockRetry is how often waitForStore tries the writer lock again.
const lockRetry = 250 * time.Millisecond

// waitForStore retries opening the store for writing while another
// writer holds it, for up to a.lockWait, saying once what it waits for.
func (a *app) waitForStore(ctx context.Context, path string, err error) (*store.Store, error) {
	a.log.Warn("waiting for the database's writer lock", "database", store.RedactDSN(path), "wait", a.lockWait.String(), "reason", err.Error())
	deadline := time.Now().Add(a.lockWait)
	for errors.Is(err, store.ErrScanRunning) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(lockRetry):
		}
		var st *store.Store
		if st, err = store.OpenConfig(ctx, store.Config{Path: path, Now: a.now}); err == nil {
			return st, nil
		}
	}
	return nil, err
}

// storeOpenErr makes a file that is not an nhiscan database a usage error
// (--db names the wrong file); corruption and the rest stay runtime errors.
func storeOpenErr(path string, err error) error {
	var nd *store.NotDatabaseError
	if errors.As(err, &nd) {
		return usagef("--db %s is not an nhiscan database: %s", store.RedactDSN(path), nd.Reason)
	}
	return err
}

// optionalCatalog loads the catalog when one is configured; reports fall
// back to provider owner hints without one.
func (a *app) optionalCatalog(cfg config.Config, paths []string) (*catalog.Catalog, error) {
	if len(paths) == 0 && len(cfg.Catalog) == 0 {
		return nil, nil
	}
	return a.loadCatalog(cfg, paths, a.now())
}

// scanFindingRows returns one scan's findings with their lifecycle: those
// it produced (open or suppressed), those it resolved, and those it kept
// without re-evaluating them (a facet they rest on was not observed).
func scanFindingRows(ctx context.Context, st *store.Store, id int64) ([]reports.FindingRow, error) {
	recs, err := st.ScanFindingRecords(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, usagef("scan %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	rows := make([]reports.FindingRow, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, findingRow(r))
	}
	return rows, nil
}

// findingRow turns a stored finding with its lifecycle into a report row.
func findingRow(r store.FindingRecord) reports.FindingRow {
	return reports.FindingRow{Finding: r.Finding, Status: r.Status, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
		ResolvedAt: r.ResolvedAt, ResolvedScanID: r.ResolvedScanID, NotReevaluated: r.NotReevaluated}
}

// checkFinishedScan is a usage error unless scan id exists and finished
// (complete or partial): only a finished scan has a snapshot.
func checkFinishedScan(ctx context.Context, st *store.Store, id int64) error {
	sc, err := st.Scan(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("scan %d not found", id)
	}
	if err != nil {
		return err
	}
	if sc.Status != store.ScanComplete && sc.Status != store.ScanPartial {
		reason := ""
		if sc.Reason != "" {
			reason = " (" + sc.Reason + ")"
		}
		return usagef("scan %d is %s%s: it has no snapshot to compare", id, sc.Status, reason)
	}
	return nil
}
func parseScanID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("scan id %q: want a positive number", s)
	}
	return id, nil
}
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// baseline is the scan drift is judged against, with its snapshot: the
// newest complete or partial scan (before scan id before, when not 0) that
// observed something. A scan stored before nhiscan failed the scans that
// collected nothing is skipped: it is no evidence of anything. The error
// wraps store.ErrNotFound when there is none.
func baseline(ctx context.Context, st *store.Store, before int64) (*store.Scan, *nhi.Inventory, error) {
	sc, err := st.LatestScan(ctx)
	if before > 0 {
		sc, err = st.PreviousScan(ctx, before)
	}
	for ; err == nil; sc, err = st.PreviousScan(ctx, sc.ID) {
		inv, _, err := st.Snapshot(ctx, sc.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("scan %d: %w", sc.ID, err)
		}
		if collectedNothing(&inv) == "" {
			return &sc, &inv, nil
		}
	}
	return nil, nil, err
}
