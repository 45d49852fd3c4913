package boundedio_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nhiscan/nhiscan/internal/boundedio"
)

func write(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadFileReadsARegularFileWithinItsLimit(t *testing.T) {
	p := write(t, "a.yaml", "hello")
	for _, limit := range []int64{5, 6, boundedio.MiB} {
		b, err := boundedio.ReadFile(p, limit)
		if err != nil || string(b) != "hello" {
			t.Errorf("limit %d: %q, %v", limit, b, err)
		}
	}
	b, err := boundedio.ReadFile(write(t, "empty", ""), 10)
	if err != nil || len(b) != 0 {
		t.Errorf("empty file: %q, %v", b, err)
	}
}

func TestReadFileRefusesAFileOverItsLimit(t *testing.T) {
	p := write(t, "big.yaml", strings.Repeat("x", 2048))
	_, err := boundedio.ReadFile(p, 1024)
	if !errors.Is(err, boundedio.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if got, want := err.Error(), "over the size limit of 1 KiB (it is 2 KiB)"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if err := boundedio.Stat(p, 1024); !errors.Is(err, boundedio.ErrTooLarge) {
		t.Errorf("Stat: %v, want ErrTooLarge", err)
	}
}

func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{dir: "a directory, not a regular file"}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases["/dev/zero"] = "a device, not a regular file"
	}
	if fifo := makeFIFO(t, dir); fifo != "" {
		// Opening a FIFO with no writer would block forever: the test
		// would hang, not fail, if ReadFile opened it.
		cases[fifo] = "a named pipe (FIFO), not a regular file"
	}
	for name, want := range cases {
		_, err := boundedio.ReadFile(name, boundedio.MiB)
		if !errors.Is(err, boundedio.ErrNotRegular) {
			t.Errorf("%s: err = %v, want ErrNotRegular", name, err)
			continue
		}
		if err.Error() != want {
			t.Errorf("%s: message %q, want %q", name, err, want)
		}
		if err := boundedio.Stat(name, boundedio.MiB); !errors.Is(err, boundedio.ErrNotRegular) {
			t.Errorf("Stat(%s) = %v, want ErrNotRegular", name, err)
		}
	}
}

func TestErrorsNeverCarryThePath(t *testing.T) {
	// A secret pasted where a path belongs must not come back in the error.
	secret := filepath.Join(t.TempDir(), "ghp_0123456789abcdefSECRET")
	for what, err := range map[string]error{
		"ReadFile": func() error { _, err := boundedio.ReadFile(secret, 10); return err }(),
		"Stat":     boundedio.Stat(secret, 10),
		"ReadFS":   func() error { _, err := boundedio.ReadFS(fstest.MapFS{}, "ghp_0123456789abcdefSECRET", 10); return err }(),
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: err = %v, want fs.ErrNotExist", what, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error quotes the path: %v", what, err)
		}
		if err.Error() != "no such file" {
			t.Errorf("%s: message %q", what, err)
		}
	}
}

func TestReadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"a.csv": {Data: []byte("email,status\n")},
		"big":   {Data: make([]byte, 100)},
		"dir":   {Mode: fs.ModeDir},
	}
	if b, err := boundedio.ReadFS(fsys, "a.csv", 100); err != nil || string(b) != "email,status\n" {
		t.Errorf("a.csv: %q, %v", b, err)
	}
	if _, err := boundedio.ReadFS(fsys, "big", 99); !errors.Is(err, boundedio.ErrTooLarge) {
		t.Errorf("big: %v", err)
	}
	if _, err := boundedio.ReadFS(fsys, "dir", 99); !errors.Is(err, boundedio.ErrNotRegular) {
		t.Errorf("dir: %v", err)
	}
}

// endless is a stream that never ends, like /dev/zero read through a
// reader.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) { e.n += int64(len(p)); return len(p), nil }

func TestReadAllStopsAtTheLimit(t *testing.T) {
	r := &endless{}
	_, err := boundedio.ReadAll(r, 4096)
	if !errors.Is(err, boundedio.ErrTooLarge) || err.Error() != "over the size limit of 4 KiB" {
		t.Fatalf("err = %v", err)
	}
	if r.n > 4096+bytes64k {
		t.Errorf("read %d bytes for a 4 KiB limit", r.n)
	}
	b, err := boundedio.ReadAll(io.LimitReader(r, 4096), 4096)
	if err != nil || len(b) != 4096 {
		t.Errorf("exactly the limit: %d bytes, %v", len(b), err)
	}
}

const bytes64k = 64 << 10

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		100: "100 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB",
		1<<30 + 1<<29: "1536 MiB", 2 << 30: "2 GiB", 3<<20 + 1: "3.0 MiB",
	} {
		if got := boundedio.Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
