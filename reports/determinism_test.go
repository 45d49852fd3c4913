package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nhiscan/nhiscan/reports"
)

// outputs renders every writer's output for in.
func outputs(t *testing.T, in reports.Input) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var b bytes.Buffer
	for name, write := range map[string]func() error{
		"table": func() error { return reports.WriteFindingsTable(&b, in.Findings) },
		"json":  func() error { return reports.WriteFindingsJSON(&b, in.Findings) },
		"csv":   func() error { return reports.WriteFindingsCSV(&b, in.Findings) },
		"html":  func() error { return reports.WriteHTML(&b, in) },
	} {
		b.Reset()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = bytes.Clone(b.Bytes())
	}
	dir := filepath.Join(t.TempDir(), "pack")
	if _, err := reports.WriteEvidence(dir, in, generatedAt); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out["evidence/"+e.Name()] = raw
	}
	return out
}

// TestDeterminism: the same content in any order gives the same bytes, and
// the writers never reorder or change the caller's input.
func TestDeterminism(t *testing.T) {
	in := fixture(t)
	want := outputs(t, in)
	if diff := cmp.Diff(fixture(t), in); diff != "" {
		t.Fatalf("writers changed their input (-before +after):\n%s", diff)
	}
	for seed := range uint64(5) {
		sh := shuffled(fixture(t), seed+1)
		got := outputs(t, sh)
		for name := range want {
			if !bytes.Equal(want[name], got[name]) {
				t.Errorf("seed %d: %s differs for shuffled input:\n%s", seed+1, name, cmp.Diff(string(want[name]), string(got[name])))
			}
		}
		if len(got) != len(want) {
			t.Errorf("seed %d: %d outputs, want %d", seed+1, len(got), len(want))
		}
	}
}
