package collectors_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestGapsOrderIndependent: concurrent calls of one operation fail in any
// order; the recorded gap (kind, detail, permission) must not depend on
// which failure arrived first, or two scans of the same state differ.
func TestGapsOrderIndependent(t *testing.T) {
	ops := collectors.Ops{"list": {Permission: "read"}}
	errs := []error{
		fmt.Errorf("GET b: %w", collectors.ErrThrottled),
		fmt.Errorf("GET a: %w", collectors.ErrDenied),
		errors.New("GET c: connection reset"),
		fmt.Errorf("GET 0: %w", collectors.ErrDenied),
	}
	var got []nhi.Gap
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 2, 3, 0}, {2, 0, 3, 1}} {
		g := collectors.NewGaps(nhi.AWS, ops)
		for _, i := range order {
			g.Add("s", "list", errs[i])
		}
		l := g.List()
		if len(l) != 1 {
			t.Fatalf("gaps = %+v", l)
		}
		got = append(got, l[0])
	}
	want := nhi.Gap{Provider: nhi.AWS, Scope: "s", Source: "list", Kind: nhi.GapDenied, Permission: "read", Detail: "4 calls failed; GET 0: access denied"}
	for i := range got {
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("order %d (-want +got):\n%s", i, diff)
		}
	}
}
