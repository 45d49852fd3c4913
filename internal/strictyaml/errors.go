package strictyaml

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem at a position. Line and Col are 1-based; they are 0
// when the problem concerns a whole file (for example one that cannot be
// read).
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

// Errors are all the problems found in one or more files. Loaders return
// them sorted (see Sort) as *Errors.
type Errors []Error

// Error prints one problem a line.
func (es *Errors) Error() string {
	lines := make([]string, len(*es))
	for i, e := range *es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by file, line, column and message, and drops exact
// duplicates (an alias can make one node report twice). It reuses es's
// storage.
func Sort(es Errors) Errors {
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

// Pos is a position in a file. Line and Col are 1-based; 0 means the whole
// file.
type Pos struct {
	File      string
	Line, Col int
}

// String formats the position as "file:line:col", or "file" without a line.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// List collects problems.
type List struct{ Errs Errors }

// Add records a problem at p.
func (l *List) Add(p Pos, format string, args ...any) {
	l.Errs = append(l.Errs, Error{File: p.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

// Err returns the problems sorted as *Errors, or nil when there are none.
func (l *List) Err() error {
	if len(l.Errs) == 0 {
		return nil
	}
	es := Sort(l.Errs)
	return &es
}
