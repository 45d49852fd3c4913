// Package boundedio reads input files within limits. Every file nhiscan
// reads as input (catalog YAML, HR CSV, configuration, inventory JSON,
// decisions CSV, *_file secrets) goes through it, so one place decides
// what may be read:
//
//   - only a regular file: a named pipe, a device (/dev/zero, a terminal),
//     a socket or a directory is refused before it is opened for reading,
//     so a FIFO cannot block and a device cannot stream forever;
//   - at most a given number of bytes: a file larger than its limit is
//     refused, and a file that grows past the limit while it is read is
//     refused too (the read stops at limit+1 bytes).
//
// Its errors never contain the file's name or path: the caller names the
// file (or, for a setting that may hold a secret pasted in place of a path,
// the setting). Errors from the operating system are stripped of the path
// they carry; errors.Is(err, fs.ErrNotExist) and friends still work.
package boundedio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Common limits. Each input names its own limit; these are the values
// nhiscan uses, documented with each input.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// ErrNotRegular is matched (errors.Is) by the error for a file that is not
// a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is matched (errors.Is) by the error for a file over its
// size limit.
var ErrTooLarge = errors.New("over the size limit")

// NotRegularError says what a refused file is instead of a regular file.
type NotRegularError struct {
	// What names what the file is: "a directory", "a named pipe (FIFO)",
	// "a device", "a socket" or "not a regular file".
	What string
}

func (e *NotRegularError) Error() string {
	if e.What == "not a regular file" {
		return e.What
	}
	return e.What + ", not a regular file"
}

// Is makes errors.Is(err, ErrNotRegular) true.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// TooLargeError is a file over its size limit.
type TooLargeError struct {
	// Limit is the limit in bytes.
	Limit int64
	// Size is the file's size when known from its metadata, else 0 (it
	// grew, or came from a stream).
	Size int64
}

func (e *TooLargeError) Error() string { return e.For("") }

// For says which limit it is: "over the size limit of 64 MiB for one
// catalog file (it is 65 MiB)".
func (e *TooLargeError) For(what string) string {
	msg := "over the size limit of " + Size(e.Limit)
	if what != "" {
		msg += " for " + what
	}
	if e.Size > 0 {
		msg += " (it is " + Size(e.Size) + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// pathless is an operating-system error without the path it named.
type pathless struct {
	op  string
	err error
}

func (e *pathless) Error() string {
	if errors.Is(e.err, fs.ErrNotExist) {
		return "no such file"
	}
	if errors.Is(e.err, fs.ErrPermission) {
		return "permission denied"
	}
	return e.op + ": " + e.err.Error()
}

func (e *pathless) Unwrap() error { return e.err }

// stripPath drops the path an *fs.PathError carries.
func stripPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &pathless{op: pe.Op, err: pe.Err}
	}
	return err
}

// Size formats a byte count the way limits are documented: "64 MiB",
// "512 KiB", "100 bytes".
func Size(n int64) string {
	switch {
	case n >= GiB && n%GiB == 0:
		return fmt.Sprintf("%d GiB", n/GiB)
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%d MiB", n/MiB)
	case n >= KiB && n%KiB == 0:
		return fmt.Sprintf("%d KiB", n/KiB)
	case n >= MiB:
		return fmt.Sprintf("%.1f MiB", float64(n)/float64(MiB))
	case n >= KiB:
		return fmt.Sprintf("%.1f KiB", float64(n)/float64(KiB))
	}
	return fmt.Sprintf("%d bytes", n)
}

// describe names what a non-regular file is.
func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// check refuses a non-regular file or one over limit, from its metadata.
func check(fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return &NotRegularError{What: describe(fi.Mode())}
	}
	if fi.Size() > limit {
		return &TooLargeError{Limit: limit, Size: fi.Size()}
	}
	return nil
}

// Stat checks that name is a regular file of at most limit bytes without
// reading it (for a file another component reads later, such as a
// credentials file an SDK opens).
func Stat(name string, limit int64) error {
	fi, err := os.Stat(name)
	if err != nil {
		return stripPath(err)
	}
	return check(fi, limit)
}

// ReadFile reads the regular file name, refusing anything else and any
// file over limit bytes. The file is checked before it is opened (a named
// pipe is never opened), opened without blocking, and checked again once
// open, so a file swapped in between is caught too.
func ReadFile(name string, limit int64) ([]byte, error) {
	if err := Stat(name, limit); err != nil {
		return nil, err
	}
	f, err := openNonBlocking(name)
	if err != nil {
		return nil, stripPath(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, stripPath(err)
	}
	if err := check(fi, limit); err != nil {
		return nil, err
	}
	return readAll(f, limit, fi.Size())
}

// ReadFS is ReadFile over an fs.FS (the embedded demo catalog, tests).
func ReadFS(fsys fs.FS, name string, limit int64) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, stripPath(err)
	}
	if err := check(fi, limit); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, stripPath(err)
	}
	defer f.Close()
	return readAll(f, limit, fi.Size())
}

// ReadAll reads r to its end, refusing more than limit bytes. It is for a
// reader that is not a file a caller opened by name (an io.Reader handed
// to a parser); its errors carry no path either.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	return readAll(r, limit, 0)
}

// readAll reads at most limit bytes; sizeHint (the file's size, or 0)
// preallocates.
func readAll(r io.Reader, limit, sizeHint int64) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(int(min(max(sizeHint, 0), limit)) + bytes.MinRead)
	n, err := b.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, stripPath(err)
	}
	if n > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return b.Bytes(), nil
}
