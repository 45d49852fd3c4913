package nhi_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/synth"
	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// encodeWhole is Encode as it was: the whole inventory indented at once.
// Snapshot hashes, evidence packs and their manifests rest on these bytes.
func encodeWhole(inv nhi.Inventory) []byte {
	inv = inv.Clone()
	inv.Normalize()
	if len(inv.Scopes) == 0 {
		inv.Scopes = nil
	}
	if len(inv.Identities) == 0 {
		inv.Identities = nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(inv); err != nil {
		panic(err)
	}
	return textsafe.JSON(b.Bytes())
}

// TestEncodeStreams: Encode writes identity by identity, and its bytes are
// exactly those of the whole inventory indented at once, whatever the
// inventory holds (hostile strings, HTML characters, empty lists, gaps).
func TestEncodeStreams(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	var invs []nhi.Inventory
	for _, hygiene := range []int{0, 85} {
		p := synth.Default(300, now)
		p.Roles, p.People, p.Scopes, p.Hygiene = 30, 100, 5, hygiene
		inv, _ := synth.Generate(p)
		inv.Gaps = []nhi.Gap{{Provider: inv.Scopes[0].Provider, Scope: inv.Scopes[0].ID, Source: "x", Kind: nhi.GapDenied}}
		invs = append(invs, inv)
	}
	hostile := "a\u0085b\u202ec<script>&\"'\x7f\u2028"
	invs = append(invs,
		nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now},
		nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now, Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: `"identities": null`}}},
		nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now, Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "1"}},
			Identities: []nhi.Identity{{ID: "aws:" + hostile, Provider: nhi.AWS, Scope: "1", Name: hostile, Tags: map[string]string{hostile: hostile}}}},
	)
	for i, inv := range invs {
		var got bytes.Buffer
		if err := nhi.Encode(&got, inv); err != nil {
			t.Fatal(err)
		}
		if want := encodeWhole(inv); !bytes.Equal(got.Bytes(), want) {
			n := 0
			for n < min(got.Len(), len(want)) && got.Bytes()[n] == want[n] {
				n++
			}
			t.Errorf("inventory %d: differs at byte %d of %d:\n got %q\nwant %q", i, n, len(want),
				got.Bytes()[max(0, n-40):min(got.Len(), n+40)], want[max(0, n-40):min(len(want), n+40)])
		}
	}
}
