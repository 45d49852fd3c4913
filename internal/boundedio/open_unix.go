//go:build unix

package boundedio

import (
	"os"
	"syscall"
)

// openNonBlocking opens name for reading with O_NONBLOCK, so that a named
// pipe swapped in after the check cannot block the open; on a regular file
// the flag has no effect.
func openNonBlocking(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
