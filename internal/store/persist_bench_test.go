package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/store/storetest"
)

// BenchmarkPersistScan compares FinishScan of a scan of n new findings
// (NHISCAN_BENCH_FINDINGS, 100,000 by default; BENCHMARKS.md uses
// 1,000,000) with the engines' own bulk loaders writing the same rows into
// the same schema: the sqlite3 shell's .import and psql's \copy, each in one
// transaction. The rows are those FinishScan stored — the scan's findings,
// the findings' lifecycle rows and their "new" events — dumped as CSV from
// a first run. The loaders' figures exclude what only nhiscan does (encode
// each finding as JSON, run the lifecycle, hash what it stored, audit).
// nhiscan-seen-again times the next scan of the same findings, every one
// seen again (an update each, in one statement from a COPY on PostgreSQL).
// The PostgreSQL half needs NHISCAN_TEST_POSTGRES; the loader halves need
// the sqlite3 and psql programs.
func BenchmarkPersistScan(b *testing.B) {
	n := 100_000
	if v := os.Getenv("NHISCAN_BENCH_FINDINGS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("NHISCAN_BENCH_FINDINGS=%q: want a positive number", v)
		}
	}
	fs := benchFindings(n)
	inv := inventory()
	ctx := context.Background()
	persist := func(b *testing.B, path func(b *testing.B) string) {
		for range b.N {
			b.StopTimer()
			c := &clock{t: t0}
			st := openAt(b, path(b), c)
			id := mustBegin(b, st, t0)
			b.StartTimer()
			if err := st.FinishScan(ctx, id, store.FinishInput{Ended: t0, Inventory: inv, Findings: fs, Lifecycle: analyzer.Lifecycle}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			st.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9, "s/scan")
	}
	// seenAgain times the scan after persist's: every finding seen again.
	seenAgain := func(b *testing.B, path func(b *testing.B) string) {
		st := openAt(b, path(b), &clock{t: t0})
		mustFinish(b, st, mustBegin(b, st, t0), t0, inv, fs)
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			at := t0.Add(time.Duration(i+1) * time.Hour)
			id := mustBegin(b, st, at)
			b.StartTimer()
			if err := st.FinishScan(ctx, id, store.FinishInput{Ended: at, Inventory: inv, Findings: fs, Lifecycle: analyzer.Lifecycle}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9, "s/scan")
	}
	sqlitePath := func(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }
	pgPath := func(b *testing.B) string { return storetest.Schema(b) }
	rows := sync.OnceValues(func() (string, error) {
		dir, err := dumpRows(ctx, fs)
		if dir != "" {
			b.Cleanup(func() { os.RemoveAll(dir) })
		}
		return dir, err
	})
	b.Run("sqlite/nhiscan", func(b *testing.B) { persist(b, sqlitePath) })
	b.Run("sqlite/nhiscan-seen-again", func(b *testing.B) { seenAgain(b, sqlitePath) })
	b.Run("sqlite/sqlite3-import", func(b *testing.B) {
		dir := needRows(b, rows, "sqlite3")
		load(b, func(b *testing.B) []string {
			path := emptyStore(b, filepath.Join(b.TempDir(), "bench.db"))
			args := []string{path}
			for _, t := range benchTables {
				args = append(args, ".import --csv "+filepath.Join(dir, t+".csv")+" "+t)
			}
			return append([]string{"sqlite3"}, args...)
		})
	})
	b.Run("postgres/nhiscan", func(b *testing.B) { persist(b, pgPath) })
	b.Run("postgres/nhiscan-seen-again", func(b *testing.B) { seenAgain(b, pgPath) })
	b.Run("postgres/psql-copy", func(b *testing.B) {
		storetest.PostgresBase(b)
		dir := needRows(b, rows, "psql")
		load(b, func(b *testing.B) []string {
			dsn := psqlDSN(b, emptyStore(b, storetest.Schema(b)))
			args := []string{"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", dsn}
			for _, t := range benchTables {
				args = append(args, "-c", `\copy `+t+" FROM '"+filepath.Join(dir, t+".csv")+"' CSV")
			}
			return args
		})
	})
}

// psqlDSN turns the search_path parameter pgx takes into the options
// parameter libpq takes.
func psqlDSN(b *testing.B, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-csearch_path="+q.Get("search_path"))
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String()
}

// benchTables are the tables FinishScan appends a scan's rows to, in the
// order their foreign keys need.
var benchTables = []string{"findings", "scan_findings", "finding_events"}

// emptyStore makes nhiscan's schema at path with one running scan, the one
// the loaded rows belong to, and returns path.
func emptyStore(b *testing.B, path string) string {
	b.Helper()
	st := openAt(b, path, &clock{t: t0})
	mustBegin(b, st, t0)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// load times the command cmd(b) returns, run once per iteration.
func load(b *testing.B, cmd func(b *testing.B) []string) {
	for range b.N {
		b.StopTimer()
		args := cmd(b)
		c := exec.Command(args[0], args[1:]...)
		b.StartTimer()
		if out, err := c.CombinedOutput(); err != nil || len(out) > 0 {
			b.Fatalf("%s: %v\n%s", args[0], err, out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9, "s/scan")
}

// needRows skips without the program, and returns the rows' directory.
func needRows(b *testing.B, rows func() (string, error), program string) string {
	b.Helper()
	if _, err := exec.LookPath(program); err != nil {
		b.Skipf("%s not installed: %v", program, err)
	}
	if _, err := exec.LookPath("sqlite3"); err != nil {
		b.Skipf("the rows are dumped with sqlite3, which is not installed: %v", err)
	}
	dir, err := rows()
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// dumpRows stores a scan of fs in a temporary SQLite database and writes
// the rows of benchTables as CSV files into a temporary directory.
func dumpRows(ctx context.Context, fs []nhi.Finding) (string, error) {
	dir, err := os.MkdirTemp("", "nhiscan-bench-rows-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "source.db")
	st, err := store.OpenConfig(ctx, store.Config{Path: path, Now: (&clock{t: t0}).now})
	if err != nil {
		return dir, err
	}
	id, err := st.BeginScan(ctx, store.ScanMeta{Started: t0})
	if err == nil {
		err = st.FinishScan(ctx, id, store.FinishInput{Ended: t0, Inventory: inventory(), Findings: fs, Lifecycle: analyzer.Lifecycle})
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return dir, err
	}
	for _, t := range benchTables {
		// CAST: bodies are stored as blobs, which the shell would write as
		// hex; the rows are the text.
		cols, err := columnsOf(path, t)
		if err != nil {
			return "", err
		}
		out, err := os.Create(filepath.Join(dir, t+".csv"))
		if err != nil {
			return "", err
		}
		cmd := exec.Command("sqlite3", "-csv", path, "SELECT "+cols+" FROM "+t)
		cmd.Stdout = out
		err = cmd.Run()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("dump %s: %w", t, err)
		}
	}
	return dir, nil
}

// columnsOf lists table's columns for the dump, text ones cast to text.
func columnsOf(path, table string) (string, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.Query("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return "", err
		}
		if typ == "TEXT" {
			name = "CAST(" + name + " AS TEXT)"
		}
		cols = append(cols, name)
	}
	return strings.Join(cols, ", "), rows.Err()
}
