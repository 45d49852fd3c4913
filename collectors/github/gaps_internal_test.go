package github

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
)

// TestGapSetOrderIndependent: concurrent calls fail in any order; the
// aggregated gap (kind, detail, permission) must not depend on which
// failure arrived first, or two scans of the same state differ.
func TestGapSetOrderIndependent(t *testing.T) {
	errs := []error{
		fmt.Errorf("GET repos/acme/b/keys: %w", collectors.ErrThrottled),
		fmt.Errorf("GET repos/acme/a/keys: status 403: %w", collectors.ErrDenied),
		errors.New("GET repos/acme/c/keys: connection reset"),
	}
	var got [][]any
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
		g := &gapSet{scope: "acme"}
		for _, i := range order {
			g.add(opListDeployKeys, errs[i], false)
		}
		l := g.list()
		if len(l) != 1 {
			t.Fatalf("gaps = %+v", l)
		}
		got = append(got, []any{l[0].Kind, l[0].Detail, l[0].Permission})
	}
	for i := 1; i < len(got); i++ {
		if diff := cmp.Diff(got[0], got[i]); diff != "" {
			t.Errorf("order %d aggregates differently (-first +this):\n%s", i, diff)
		}
	}
}
