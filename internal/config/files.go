package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/nhiscan/nhiscan/internal/boundedio"
	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Size limits on what the configuration makes nhiscan read
// (docs/configuration.md). The YAML limits on nesting, tokens, keys per
// mapping and alias expansion are internal/strictyaml's DefaultLimits.
const (
	// MaxFileSize is the largest configuration file read.
	MaxFileSize = 1 * boundedio.MiB
	// MaxSecretFileSize is the largest file a *_file setting may name (a
	// token, a key, a certificate chain, a credentials JSON).
	MaxSecretFileSize = 1 * boundedio.MiB
)

// FileSetting is one *_file setting: the file holds a secret, and the
// setting's value may itself be a secret pasted in place of a path, so a
// problem with it names the setting and where it was set, never the
// value.
type FileSetting struct {
	// Provider is the provider section it belongs to: "aws", "azure",
	// "gcp" or "github".
	Provider string
	// Key is the setting's full key, e.g. "providers.github.token_file".
	Key string
	// At is where it was set: the configuration file's line and column,
	// or the NHISCAN_* variable (File, without a line).
	At strictyaml.Pos
	// Path is the file it names, resolved against the configuration
	// file's directory.
	Path string
}

// FilesOf returns the *_file settings of one provider section ("" for
// all).
func (c Config) FilesOf(provider string) []FileSetting {
	var out []FileSetting
	for _, f := range c.Files {
		if provider == "" || f.Provider == provider {
			out = append(out, f)
		}
	}
	return out
}

// CheckFiles checks the *_file settings of one provider section ("" for
// all): each must name a regular file of at most MaxSecretFileSize bytes.
// Nothing is read. Every problem is returned at once as *Errors, each
// naming the setting and where it was set, never the value.
func (c Config) CheckFiles(provider string) error {
	var errs strictyaml.List
	for _, f := range c.FilesOf(provider) {
		if err := boundedio.Stat(f.Path, MaxSecretFileSize); err != nil {
			errs.Add(f.At, "%s", f.problem(err))
		}
	}
	if len(errs.Errs) == 0 {
		return nil
	}
	es := Errors(strictyaml.Sort(errs.Errs))
	return &es
}

// Read reads the setting's file (a regular file of at most
// MaxSecretFileSize bytes). The error is *Errors naming the setting and
// where it was set, never the value.
func (f FileSetting) Read() ([]byte, error) {
	b, err := boundedio.ReadFile(f.Path, MaxSecretFileSize)
	if err != nil {
		es := Errors{{File: f.At.File, Line: f.At.Line, Col: f.At.Col, Msg: f.problem(err)}}
		return nil, &es
	}
	return b, nil
}

// problem describes err (a boundedio error: it carries no path) for the
// setting, without its value.
func (f FileSetting) problem(err error) string {
	what := err.Error()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		what = "the file it names does not exist"
	case errors.Is(err, fs.ErrPermission):
		what = "the file it names cannot be read (permission denied)"
	case errors.Is(err, boundedio.ErrNotRegular), errors.Is(err, boundedio.ErrTooLarge):
		what = "the file it names is " + what
	}
	return fmt.Sprintf("%s: %s (its value is not shown: it may be a secret pasted in place of a path)", f.Key, what)
}

// Redact replaces, in a message about this setting's provider (an SDK's
// or a collector's error), the path the setting names with the setting's
// key, so a secret pasted in place of a path never reaches the terminal
// or a log.
func (f FileSetting) Redact(msg string) string {
	if strings.TrimSpace(f.Path) == "" {
		return msg
	}
	return strings.ReplaceAll(msg, f.Path, "<"+f.Key+">")
}
