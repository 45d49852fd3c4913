package aws_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
)

// TestCallsObserved: Config.Calls hears every API call the fake counts,
// by the same operation names (service:Action), each ok.
func TestCallsObserved(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	var mu sync.Mutex
	got := map[string]int{}
	c := newCollector(t, srv, func(cfg *awscol.Config) {
		cfg.Calls = func(c collectors.Call) {
			mu.Lock()
			defer mu.Unlock()
			if c.Provider != "aws" || c.Status != "ok" {
				t.Errorf("call %+v", c)
			}
			got[c.Operation]++
		}
	})
	if _, err := c.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(srv.Calls(), got); diff != "" || len(got) == 0 {
		t.Errorf("observed calls differ from the fake's count (-fake +observed):\n%s", diff)
	}
}
