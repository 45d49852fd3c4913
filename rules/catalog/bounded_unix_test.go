//go:build unix

package catalog_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCatalogFilesMustBeRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "catalog.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	// A FIFO would block the loader forever if it were opened.
	wantOne(t, loadErrs(t, fifo), fifo+": read "+fifo+": a named pipe (FIFO), not a regular file")
	if _, err := os.Stat("/dev/zero"); err == nil {
		wantOne(t, loadErrs(t, "/dev/zero"), "/dev/zero: read /dev/zero: a device, not a regular file")
	}
	// An HR CSV that is a device or a FIFO is refused where it is named.
	cat := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cat, []byte("people_csv: /dev/zero\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOne(t, loadErrs(t, cat), cat+":1:13: read /dev/zero: a device, not a regular file")
	if err := os.WriteFile(cat, []byte("people_csv: catalog.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOne(t, loadErrs(t, cat), cat+":1:13: read "+fifo+": a named pipe (FIFO), not a regular file")
}
