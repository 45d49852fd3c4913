package nhi

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the inventory decoder. It must never
// panic; what the strict pass accepts encoding/json must read; and an
// inventory it returns must encode and decode back to itself. Plain `go
// test` runs only the seeds; `make fuzz` searches.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("../../collectors/*/testdata/golden-inventory.json")
	more, _ := filepath.Glob("../../cmd/nhiscan/testdata/scan*.json")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	doc, _ := os.ReadFile("../../docs/inventory.md")
	if i := bytes.Index(doc, []byte("```json\n")); i >= 0 {
		if j := bytes.Index(doc[i+8:], []byte("```")); j >= 0 {
			f.Add(doc[i+8 : i+8+j])
		}
	}
	for _, s := range []string{
		`{"version":1,"collected_at":"2026-01-01T00:00:00Z"}`,
		`{"VERSION":1,"version":1,"version":2}`,
		`{"version":1,"collected_at":"2026-01-01T00:00:00Z","identities":[{"id":"aws:\ud800","tags":{"a":"b","a":"c"}}]}`,
		"{\"version\":1,\"collected_at\":\"\xff\"}",
		`{"version":[[[[[[{"a":[1,2,{"b":null}]}]]]]]]}`,
		`{"version":1e3,"collected_at":"2026-01-01T00:00:00.123+02:00","scopes":null,"gaps":[{"kind":"x","facets":["usage:"]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(checkJSON(data)) == 0 {
			var inv Inventory
			if err := json.Unmarshal(data, &inv); err != nil {
				t.Fatalf("the strict pass accepted what encoding/json refuses: %v", err)
			}
		}
		inv, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "inventory: ") {
				t.Fatalf("error without its prefix: %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := Encode(&b, inv); err != nil {
			t.Fatal(err)
		}
		back, err := Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("an accepted inventory does not decode after encoding: %v\n%s", err, b.String())
		}
		if back.Hash() != inv.Hash() {
			t.Fatal("encode/decode changed the inventory")
		}
	})
}
