package fakeapi

import (
	"sync"
	"testing"
)

func TestCounter(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Count("a")
			c.Count("b")
		}()
	}
	wg.Wait()
	if c.CallCount("a") != 50 || c.CallCount("") != 100 || c.TotalCalls() != 100 || len(c.Calls()) != 2 {
		t.Errorf("counts: %v", c.Calls())
	}
	m := c.Calls()
	m["a"] = 0
	if c.CallCount("a") != 50 {
		t.Error("Calls returned the internal map")
	}
	c.ResetCalls()
	if c.TotalCalls() != 0 {
		t.Error("ResetCalls kept counts")
	}
}
