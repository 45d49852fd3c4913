package catalog

import (
	"fmt"

	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Error is one catalog problem at a position. Line and Col are 1-based; they
// are 0 when the problem concerns a whole file (for example one that cannot
// be read). It is the configuration loader's error type too.
type Error = strictyaml.Error

// Errors are all the problems found while loading a catalog, sorted by file,
// line and column. The loader returns them as *Errors; the CLI exits 2 on
// them.
type Errors = strictyaml.Errors

// sortErrors orders problems by file, line, column and message, and drops
// exact duplicates (an alias can make one node report twice).
func sortErrors(es Errors) Errors { return strictyaml.Sort(es) }

// pos is a position in a catalog file.
type pos = strictyaml.Pos

// errorList collects problems.
type errorList struct{ es Errors }

func (l *errorList) add(p pos, format string, args ...any) {
	l.es = append(l.es, Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}
