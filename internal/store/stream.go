package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// FindingsWriter stores a scan's findings batch by batch as the analysis
// hands them on (analyzer.Input.Findings), inside the transaction
// FinishScan then commits: a scan of millions of findings never holds them
// all, nor their encodings. Each batch's lifecycle is judged against the
// findings as last recorded and written at once; FinishScan judges the
// recorded findings no batch produced, computes the findings' hash from
// what was written, and commits. Nothing is visible before the commit, and
// a failure or an interrupted process leaves the history as it was.
type FindingsWriter struct {
	s      *Store
	ctx    context.Context
	scanID int64
	conn   *sql.Conn
	tx     *sql.Tx
	bulk   bulkWriter
	w      *findingWriter
	cov    *nhi.Coverage
	seen   LifecycleFunc
	// prior holds the recorded findings no batch has produced yet;
	// produced the fingerprints written (a second one is refused).
	prior    map[string]nhi.PriorFinding
	produced map[string]struct{}
	facets   facetEncoder
	n        int
	err      error
	// staged (SQLite): the findings go through the staging table
	// (stageRows, unstage), and the connection's cache was enlarged (Abort
	// restores it before the connection goes back to the pool).
	staged    bool
	stageRows [][]any
}

// streamCacheKiB is the page cache of the connection writing a streamed
// scan on SQLite, in KiB (negative: a size, not a page count).
const streamCacheKiB = -512 * 1024

// BeginFindings starts storing the findings of running scan scanID, whose
// inventory is inv (its coverage judges them). seen moves the lifecycle of
// the findings a batch produced (analyzer.Lifecycle); FinishScan's
// Lifecycle judges the rest. The caller ends it with FinishScan (with
// FinishInput.Written) or Abort.
func (s *Store) BeginFindings(ctx context.Context, scanID int64, inv *nhi.Inventory, seen LifecycleFunc) (*FindingsWriter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.heldScan(scanID); err != nil {
		return nil, fmt.Errorf("store findings: %w", err)
	}
	if seen == nil {
		return nil, fmt.Errorf("store findings of scan %d: no lifecycle function (analyzer.Lifecycle)", scanID)
	}
	fw := &FindingsWriter{s: s, ctx: ctx, scanID: scanID, seen: seen, produced: map[string]struct{}{}, facets: facetEncoder{}}
	var err error
	if fw.conn, fw.tx, err = s.beginOnConn(ctx); err != nil {
		return nil, err
	}
	if s.pg == nil {
		if err := fw.stage(); err != nil {
			fw.Abort()
			return nil, err
		}
	}
	if err := fw.begin(inv); err != nil {
		fw.Abort()
		return nil, fmt.Errorf("store findings of scan %d: %w", scanID, err)
	}
	return fw, nil
}

func (fw *FindingsWriter) begin(inv *nhi.Inventory) error {
	at, err := runningSince(fw.ctx, fw.tx, fw.scanID)
	if err != nil {
		return err
	}
	prior, err := readPrior(fw.ctx, fw.tx)
	if err != nil {
		return err
	}
	fw.prior = make(map[string]nhi.PriorFinding, len(prior))
	for _, p := range prior {
		fw.prior[p.Fingerprint] = p
	}
	if fw.w, err = newFindingWriter(fw.ctx, fw.tx, fw.scanID, at); err != nil {
		return err
	}
	fw.bulk = fw.s.bulkFor(fw.conn, fw.tx)
	fw.w.bulkSeen = fw.bulk.seen != nil
	// The coverage of the normalised scopes and gaps, as FinishScan's.
	cov := nhi.Inventory{Scopes: slices.Clone(inv.Scopes), Gaps: slices.Clone(inv.Gaps)}
	cov.Normalize()
	fw.cov = cov.Coverage()
	return nil
}

// Add stores one batch of findings. The batch is read during the call
// only. After an error every later call returns it, and FinishScan refuses
// to commit.
func (fw *FindingsWriter) Add(fs []nhi.Finding) error {
	fw.s.mu.Lock()
	defer fw.s.mu.Unlock()
	if fw.err == nil && fw.tx == nil {
		fw.err = errors.New("store findings: the writer was ended")
	}
	if fw.err == nil {
		if err := fw.add(fs); err != nil {
			fw.err = fmt.Errorf("store findings of scan %d: %w", fw.scanID, err)
		}
	}
	return fw.err
}

func (fw *FindingsWriter) add(fs []nhi.Finding) error {
	if err := fw.ctx.Err(); err != nil {
		return err
	}
	prepared, err := prepareFindings(fs, fw.facets)
	if err != nil {
		return err
	}
	var prior []nhi.PriorFinding
	byFP := make(map[string]*preparedFinding, len(prepared))
	for i := range prepared {
		fp := prepared[i].f.Fingerprint
		if _, dup := fw.produced[fp]; dup {
			return fmt.Errorf("finding %s appears twice (rule %s)", fp, prepared[i].f.RuleID)
		}
		fw.produced[fp] = struct{}{}
		byFP[fp] = &prepared[i]
		if p, ok := fw.prior[fp]; ok {
			prior = append(prior, p)
			delete(fw.prior, fp)
		}
	}
	w := fw.w
	for i := range prepared {
		if fw.staged {
			fw.stageRows = append(fw.stageRows, []any{prepared[i].f.Fingerprint, prepared[i].body})
		} else {
			w.scanRows = append(w.scanRows, []any{fw.scanID, prepared[i].f.Fingerprint, prepared[i].body})
		}
	}
	for _, tr := range fw.seen(prior, fs, fw.cov) {
		pf := byFP[tr.Fingerprint]
		if tr.Finding == nil || pf == nil {
			return fmt.Errorf("lifecycle: transition for finding %s, which this batch did not produce", tr.Fingerprint)
		}
		if err := w.produced(&tr, pf); err != nil {
			return err
		}
	}
	fw.n += len(prepared)
	return fw.flush()
}

// flush writes the rows collected so far and forgets them.
func (fw *FindingsWriter) flush() error {
	w := fw.w
	err := w.flush(fw.bulk)
	if err == nil && len(fw.stageRows) > 0 {
		err = fw.bulk.insert(fw.ctx, stageTable, stageCols, fw.stageRows)
	}
	w.newRows, w.scanRows, w.eventRows, w.seenRows, w.events, fw.stageRows = nil, nil, nil, nil, nil, nil
	return err
}

// On SQLite a streamed scan's findings (fingerprint and body) are staged
// in a temporary table as they come, then stored in scan_findings in
// fingerprint order: that table is a B-tree of the bodies keyed by
// fingerprint, and writing it at random places, batch after batch, is
// slow once it outgrows the page cache; SQLite sorts on disk, not in
// nhiscan's memory. The temporary table goes with the transaction.
const stageTable = "nhiscan_scan_findings"

var stageCols = []string{"fingerprint", "body"}

// stage creates the staging table and enlarges the connection's cache:
// batches come in identity order, their fingerprints in any, so the
// findings' B-trees are still written at random places.
func (fw *FindingsWriter) stage() error {
	fw.staged = true // from here Abort restores the cache
	if _, err := fw.tx.ExecContext(fw.ctx, fmt.Sprintf("PRAGMA cache_size = %d", streamCacheKiB)); err != nil {
		return err
	}
	if _, err := fw.tx.ExecContext(fw.ctx, "CREATE TEMP TABLE "+stageTable+" (fingerprint TEXT NOT NULL, body TEXT NOT NULL)"); err != nil {
		return err
	}
	return nil
}

// unstage stores the staged findings in scan_findings, in fingerprint
// order.
func (fw *FindingsWriter) unstage(ctx context.Context) error {
	if !fw.staged {
		return nil
	}
	if _, err := fw.tx.ExecContext(ctx, "INSERT INTO scan_findings (scan_id, fingerprint, body) SELECT ?, fingerprint, body FROM temp."+stageTable+
		" ORDER BY fingerprint", fw.scanID); err != nil {
		return fmt.Errorf("scan findings: %w", err)
	}
	_, err := fw.tx.ExecContext(ctx, "DROP TABLE temp."+stageTable)
	return err
}

// finishWritten judges the recorded findings no batch produced with
// in.Lifecycle, computes the findings' hash from what was written, writes
// the rest of the scan and commits.
func (s *Store) finishWritten(ctx context.Context, scanID int64, in FinishInput) error {
	fw := in.Written
	defer fw.Abort()
	switch {
	case fw.err != nil:
		return fw.err
	case fw.tx == nil:
		return errors.New("the findings writer was ended")
	case fw.scanID != scanID:
		return fmt.Errorf("the findings writer is scan %d's", fw.scanID)
	}
	p, err := prepareFinish(in)
	if err != nil {
		return err
	}
	rest := make([]nhi.PriorFinding, 0, len(fw.prior))
	for _, pr := range fw.prior {
		rest = append(rest, pr)
	}
	slices.SortFunc(rest, func(a, b nhi.PriorFinding) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	for _, tr := range in.Lifecycle(rest, nil, fw.cov) {
		if tr.Finding != nil {
			return fmt.Errorf("lifecycle: transition for finding %s, which no batch produced", tr.Fingerprint)
		}
		if err := fw.w.absent(&tr); err != nil {
			return err
		}
	}
	if err := fw.flush(); err != nil {
		return err
	}
	if err := fw.unstage(ctx); err != nil {
		return err
	}
	hash, err := findingsDigest(ctx, fw.tx, scanID)
	if err != nil {
		return fmt.Errorf("findings hash: %w", err)
	}
	if err := writeFinish(ctx, fw.tx, scanID, in, p, fw.w.counts, hash, fw.n); err != nil {
		return err
	}
	return fw.tx.Commit()
}

// Abort ends the writer without storing anything (after FinishScan, it
// only releases the connection). It may be called more than once.
func (fw *FindingsWriter) Abort() {
	if fw.w != nil {
		fw.w.close()
	}
	if fw.tx != nil {
		fw.tx.Rollback()
		if fw.staged {
			fw.conn.ExecContext(context.WithoutCancel(fw.ctx), fmt.Sprintf("PRAGMA cache_size = %d", writerCacheKiB))
		}
		fw.conn.Close()
		fw.tx = nil
	}
}
