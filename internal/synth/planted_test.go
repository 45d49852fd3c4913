package synth_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/synth"
)

func TestGeneratePlanted(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	p := synth.DefaultPlanted(2000, 100, now)
	a, b := synth.GeneratePlanted(p), synth.GeneratePlanted(p)
	if diff := cmp.Diff(a.Inventory, b.Inventory); diff != "" {
		t.Fatalf("same parameters, different organisations:\n%s", diff)
	}
	if err := a.Inventory.Validate(); err != nil {
		t.Fatalf("invalid inventory: %v", err)
	}
	if len(a.Inventory.Identities) != 2000 || len(a.RoleOf) != 2000 {
		t.Fatalf("%d identities, %d with a truth", len(a.Inventory.Identities), len(a.RoleOf))
	}
	roles, strays, tagged := map[string]bool{}, 0, 0
	for _, id := range a.Inventory.Identities {
		r, ok := a.RoleOf[id.ID]
		if !ok {
			t.Fatalf("%s has no truth", id.ID)
		}
		if r == "" {
			strays++
			continue
		}
		roles[r] = true
		for _, k := range []string{"app", "service", "Application"} {
			if id.Tags[k] != "" {
				tagged++
			}
		}
	}
	if len(roles) != 100 || strays != 100 {
		t.Errorf("%d planted roles, %d strays; want 100 and 100", len(roles), strays)
	}
	// About 60% of members carry a role tag.
	if share := float64(tagged) / 1900; share < 0.5 || share > 0.7 {
		t.Errorf("%.2f of members tagged, want about 0.6", share)
	}
}
