//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errLocked: another open file description holds the lock.
var errLocked = errors.New("lock held")

// fileLock is an exclusive flock on a lock file. The kernel releases it when
// the holding process dies, however it dies.
type fileLock struct{ f *os.File }

// tryLock takes the lock without waiting; it returns errLocked when another
// holder (this process or another) has it.
func tryLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// unlock releases the lock; closing the file releases the flock.
func (l *fileLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// access reports whether this process may write path (access(2), W_OK).
func access(path string) error {
	if err := syscall.Access(path, 2); err != nil {
		return &os.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}
