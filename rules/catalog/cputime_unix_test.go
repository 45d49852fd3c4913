//go:build unix

package catalog_test

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time so far: on a shared,
// busy machine it measures the work where wall time measures the queue.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
