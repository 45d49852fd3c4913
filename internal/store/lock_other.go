//go:build !unix

package store

import "errors"

var errLocked = errors.New("lock held")

type fileLock struct{}

func tryLock(path string) (*fileLock, error) {
	return nil, errors.New("the single-writer scan lock needs flock, which this platform lacks")
}

func (l *fileLock) unlock() error { return nil }

// access is not checked on this platform: a write that is refused fails
// when it is tried.
func access(string) error { return nil }
