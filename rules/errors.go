package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one catalog problem at a position. Line and Col are 1-based; they
// are 0 when the problem concerns a whole file (for example one that cannot
// be read).
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error formats the problem as "file:line:col: message", or "file: message"
// when it has no position.
func (e Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors are all the problems found while loading a catalog, sorted by file,
// line and column. The loader returns them as *Errors; the CLI exits 2 on
// them.
type Errors []Error

// Error prints one problem a line.
func (es *Errors) Error() string {
	lines := make([]string, len(*es))
	for i, e := range *es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders problems by file, line, column and message, and drops
// exact duplicates (an alias can make one node report twice).
func sortErrors(es Errors) Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && e == es[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// pos is a position in a catalog file.
type pos struct {
	File      string
	Line, Col int
}

// String formats the position as "file:line:col".
func (p pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// errorList collects problems.
type errorList struct{ es Errors }

func (l *errorList) add(p pos, format string, args ...any) {
	l.es = append(l.es, Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}
