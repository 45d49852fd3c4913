package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nhiscan/nhiscan/internal/boundedio"
)

// Limits on catalog input (docs/catalog.md). The YAML limits on nesting,
// tokens, keys per mapping and alias expansion are internal/strictyaml's
// DefaultLimits.
const (
	// MaxFileSize is the largest catalog YAML file or HR CSV read.
	MaxFileSize = 64 * boundedio.MiB
	// MaxCSVRows is the most people one HR CSV may list.
	MaxCSVRows = 1_000_000
)

// maxCSVRows is MaxCSVRows; tests lower it.
var maxCSVRows = MaxCSVRows

// source is where catalog files come from: the OS file system (Load) or an
// fs.FS (LoadFS, used for the embedded demo catalog and in tests).
type source interface {
	isDir(name string) (bool, error)
	// yamlFiles lists the *.yaml and *.yml files directly in dir, sorted.
	yamlFiles(dir string) ([]string, error)
	readFile(name string) ([]byte, error)
	// rel resolves a path written in file relative to file's directory.
	rel(file, p string) (string, error)
	base(name string) string
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

type osSource struct{}

func (osSource) isDir(name string) (bool, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

func (osSource) yamlFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && isYAML(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

func (osSource) readFile(name string) ([]byte, error) { return boundedio.ReadFile(name, MaxFileSize) }

func (osSource) rel(file, p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	return filepath.Join(filepath.Dir(file), filepath.FromSlash(p)), nil
}

func (osSource) base(name string) string { return filepath.Base(name) }

type fsSource struct{ fsys fs.FS }

func (s fsSource) isDir(name string) (bool, error) {
	if !fs.ValidPath(name) {
		return false, fmt.Errorf("invalid path %q for an fs.FS", name)
	}
	fi, err := fs.Stat(s.fsys, name)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}

func (s fsSource) yamlFiles(dir string) ([]string, error) {
	ents, err := fs.ReadDir(s.fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && isYAML(e.Name()) {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s fsSource) readFile(name string) ([]byte, error) {
	return boundedio.ReadFS(s.fsys, name, MaxFileSize)
}

func (fsSource) rel(file, p string) (string, error) {
	if path.IsAbs(p) {
		return "", errors.New("must be relative to the catalog file")
	}
	j := path.Join(path.Dir(file), p)
	if !fs.ValidPath(j) {
		return "", errors.New("leaves the catalog's file system")
	}
	return j, nil
}

func (fsSource) base(name string) string { return path.Base(name) }

// pathErr shortens an *fs.PathError, whose path the Error already carries,
// and says which limit a file over its size limit broke.
func pathErr(err error) string {
	var pe *fs.PathError
	var big *boundedio.TooLargeError
	switch {
	case errors.As(err, &big):
		return big.For("one catalog or HR CSV file")
	case errors.As(err, &pe):
		if errors.Is(pe.Err, fs.ErrNotExist) {
			return "no such file or directory"
		}
		return pe.Err.Error()
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	}
	return err.Error()
}
