// Package benchmem measures the heap of a benchmark while it runs: the
// peak that a runtime.MemStats read after the fact cannot see.
package benchmem

import (
	"runtime/metrics"
	"sync"
	"time"
)

// Peak samples the heap in use (live objects and garbage not yet swept)
// every 10 ms until the returned function is called, which returns the
// largest sample in bytes.
func Peak() func() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
	)
	read := func() {
		mu.Lock()
		defer mu.Unlock()
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64()+s[1].Value.Uint64())
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak
	}
}
