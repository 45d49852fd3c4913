package campaign

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ImportColumns are the columns a decisions file must have. The export
// (reports.WriteReviewCSV) adds the item's context around them; those
// columns are read-only and ignored on import.
var ImportColumns = []string{"campaign_id", "item_id", "reviewer", "decision", "until", "grants", "reassign_to", "justification"}

// MaxImportBytes bounds a decisions file.
const MaxImportBytes = 64 << 20

// ImportError lists every problem in a decisions file, each with its line.
// Nothing is recorded when there is one.
type ImportError struct {
	File     string
	Problems []LineError
}

// LineError is one problem on one line (1 is the header).
type LineError struct {
	Line int
	Err  error
}

func (e *ImportError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s:%d: %v", e.File, p.Line, p.Err)
	}
	return b.String()
}

// Import reads decisions from an offline review file (CSV, as exported)
// and records them in an open campaign. Rows with an empty decision are
// skipped. Every problem (a malformed file, an unknown item, a decision
// that does not fit its item, a missing justification...) is reported at
// once with its line as an *ImportError, and then nothing is recorded. It
// returns the number of decisions recorded.
func (s *Service) Import(ctx context.Context, id int64, name string, r io.Reader) (int, error) {
	st, err := s.load(ctx, id)
	if err != nil {
		return 0, err
	}
	if st.c.State != StateOpen {
		return 0, fmt.Errorf("campaign %d is %s: decisions are imported while it is open", id, st.c.State)
	}
	ds, lines, ierr := parseDecisions(name, r, id, s.now())
	if ierr != nil {
		return 0, ierr
	}
	out, asg, errs := s.prepare(st, ds)
	if len(errs) > 0 {
		ie := &ImportError{File: name}
		for _, e := range errs {
			ie.Problems = append(ie.Problems, LineError{Line: lines[e.i], Err: e.err})
		}
		return 0, ie
	}
	if len(out) == 0 {
		return 0, nil
	}
	if err := s.Store.RecordDecisions(ctx, id, out, asg); err != nil {
		return 0, err
	}
	return len(out), nil
}

// parseDecisions reads the file's rows into decisions (with the line of
// each), reporting every row problem at once.
func parseDecisions(name string, r io.Reader, campaignID int64, now time.Time) ([]Decision, []int, *ImportError) {
	ie := &ImportError{File: name}
	b, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	switch {
	case err != nil:
		ie.Problems = append(ie.Problems, LineError{1, err})
		return nil, nil, ie
	case len(b) > MaxImportBytes:
		ie.Problems = append(ie.Problems, LineError{1, fmt.Errorf("file is larger than %d MiB", MaxImportBytes>>20)})
		return nil, nil, ie
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff")) // a spreadsheet's byte-order mark
	cr := csv.NewReader(bytes.NewReader(b))
	header, err := cr.Read()
	if err != nil {
		ie.Problems = append(ie.Problems, LineError{1, fmt.Errorf("no header row: %w", err)})
		return nil, nil, ie
	}
	col, problems := columns(header)
	if len(problems) > 0 {
		for _, p := range problems {
			ie.Problems = append(ie.Problems, LineError{1, p})
		}
		return nil, nil, ie
	}
	var ds []Decision
	var lines []int
	seen := map[int]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
				err = pe.Err
			}
			ie.Problems = append(ie.Problems, LineError{line, err})
			if !errors.Is(err, csv.ErrFieldCount) {
				break // the rest of the file cannot be trusted
			}
			continue
		}
		d, skip, err := parseRow(rec, col, campaignID, now)
		switch {
		case err != nil:
			ie.Problems = append(ie.Problems, LineError{line, err})
		case skip:
		case seen[d.ItemID] != 0:
			ie.Problems = append(ie.Problems, LineError{line, fmt.Errorf("item %d is decided twice (first on line %d)", d.ItemID, seen[d.ItemID])})
		default:
			seen[d.ItemID] = line
			ds = append(ds, d)
			lines = append(lines, line)
		}
	}
	if len(ie.Problems) > 0 {
		return nil, nil, ie
	}
	return ds, lines, nil
}

func columns(header []string) (map[string]int, []error) {
	col := map[string]int{}
	var errs []error
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := col[h]; dup {
			errs = append(errs, fmt.Errorf("column %q appears twice", h))
		}
		col[h] = i
	}
	for _, c := range ImportColumns {
		if _, ok := col[c]; !ok {
			errs = append(errs, fmt.Errorf("missing column %q (export the file with 'nhiscan campaign decisions export')", c))
		}
	}
	return col, errs
}

func parseRow(rec []string, col map[string]int, campaignID int64, now time.Time) (Decision, bool, error) {
	get := func(c string) string { return unquoteCell(strings.TrimSpace(rec[col[c]])) }
	if get("decision") == "" {
		return Decision{}, true, nil
	}
	var errs []error
	cid, err := strconv.ParseInt(get("campaign_id"), 10, 64)
	if err != nil || cid != campaignID {
		errs = append(errs, fmt.Errorf("campaign_id %q: this file is for campaign %d", get("campaign_id"), campaignID))
	}
	item, err := strconv.Atoi(get("item_id"))
	if err != nil || item < 1 {
		errs = append(errs, fmt.Errorf("item_id %q is not an item number", get("item_id")))
	}
	kind, err := ParseKind(get("decision"))
	if err != nil {
		errs = append(errs, err)
	}
	d := Decision{CampaignID: campaignID, ItemID: item, Reviewer: strings.ToLower(get("reviewer")), Kind: kind,
		ReassignTo: get("reassign_to"), Justification: get("justification"), Source: "import", At: now}
	if d.Reviewer == "" {
		errs = append(errs, errors.New("reviewer is empty: who decided"))
	}
	if u := get("until"); u != "" {
		if d.Until, err = parseDate(u); err != nil {
			errs = append(errs, fmt.Errorf("until %q: want a date (2027-03-31) or RFC 3339", u))
		}
	}
	for _, g := range strings.Split(get("grants"), ";") {
		if g = strings.TrimSpace(g); g != "" {
			d.Grants = append(d.Grants, g)
		}
	}
	return d, false, errors.Join(errs...)
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}

// unquoteCell undoes the export's formula-injection guard
// (reports.SafeCell): a quote before =, +, -, @, tab, CR or NUL.
func unquoteCell(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.IndexByte("=+-@\t\r\x00", s[1]) >= 0 {
		return s[1:]
	}
	return s
}
