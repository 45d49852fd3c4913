package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// jsonNode is one JSON value with the byte offset where it starts, so that
// every problem in a JSON people export can be reported at file:line:col
// with its JSON path. Object keys keep their order and their own offsets.
type jsonNode struct {
	kind  jsonKind
	off   int64
	str   string // string and number text
	b     bool
	keys  []jsonMember // object
	elems []*jsonNode  // array
}

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonObject
	jsonArray
)

func (k jsonKind) String() string {
	return [...]string{"null", "boolean", "number", "string", "object", "array"}[k]
}

type jsonMember struct {
	name string
	off  int64
	val  *jsonNode
}

// JSON export bounds: a file larger than maxPeopleFileBytes, or nested
// deeper than maxJSONDepth, is refused before anything else is checked.
const (
	maxPeopleFileBytes = 64 << 20
	maxJSONDepth       = 16
)

// jsonParser builds a jsonNode tree with json.Decoder's token stream.
type jsonParser struct {
	data []byte
	dec  *json.Decoder
}

// parseJSONTree parses data into a tree. Duplicate object keys (compared
// case-insensitively, as SCIM attribute names are) and trailing data are
// errors; the error carries the byte offset where the problem is.
func parseJSONTree(data []byte) (*jsonNode, *jsonError) {
	p := &jsonParser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	n, jerr := p.value(0)
	if jerr != nil {
		return nil, jerr
	}
	off := p.next()
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &jsonError{off: off, msg: "unexpected data after the top-level value"}
	}
	return n, nil
}

type jsonError struct {
	off int64
	msg string
}

// next is the offset where the next token starts.
func (p *jsonParser) next() int64 {
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	return off
}

func (p *jsonParser) syntax(err error) *jsonError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The token stream's offsets are relative to its buffer;
		// Unmarshal's are absolute.
		if uerr := json.Unmarshal(p.data, new(any)); errors.As(uerr, &se) {
			return &jsonError{off: max(se.Offset-1, 0), msg: "JSON syntax error: " + se.Error()}
		}
		return &jsonError{off: p.next(), msg: "JSON syntax error: " + se.Error()}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &jsonError{off: int64(len(p.data)), msg: "JSON syntax error: unexpected end of file"}
	}
	return &jsonError{off: p.next(), msg: "JSON syntax error: " + err.Error()}
}

func (p *jsonParser) value(depth int) (*jsonNode, *jsonError) {
	off := p.next()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(err)
	}
	n := &jsonNode{off: off}
	switch t := tok.(type) {
	case nil:
		n.kind = jsonNull
	case bool:
		n.kind, n.b = jsonBool, t
	case json.Number:
		n.kind, n.str = jsonNumber, string(t)
	case string:
		n.kind, n.str = jsonString, t
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, &jsonError{off: off, msg: fmt.Sprintf("nested deeper than %d levels", maxJSONDepth)}
		}
		if t == '{' {
			return n, p.object(n, depth)
		}
		return n, p.array(n, depth)
	}
	return n, nil
}

func (p *jsonParser) object(n *jsonNode, depth int) *jsonError {
	n.kind = jsonObject
	seen := map[string]int64{}
	for p.dec.More() {
		off := p.next()
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntax(err)
		}
		name, _ := tok.(string)
		if first, dup := seen[strings.ToLower(name)]; dup {
			return &jsonError{off: off, msg: fmt.Sprintf("duplicate key %q (first at byte %d; SCIM attribute names are case-insensitive)", name, first)}
		}
		seen[strings.ToLower(name)] = off
		v, jerr := p.value(depth + 1)
		if jerr != nil {
			return jerr
		}
		n.keys = append(n.keys, jsonMember{name: name, off: off, val: v})
	}
	if _, err := p.dec.Token(); err != nil {
		return p.syntax(err)
	}
	return nil
}

func (p *jsonParser) array(n *jsonNode, depth int) *jsonError {
	n.kind = jsonArray
	for p.dec.More() {
		v, jerr := p.value(depth + 1)
		if jerr != nil {
			return jerr
		}
		n.elems = append(n.elems, v)
	}
	if _, err := p.dec.Token(); err != nil {
		return p.syntax(err)
	}
	return nil
}

// member returns the value of an object's key, compared case-insensitively.
func (n *jsonNode) member(name string) (*jsonNode, bool) {
	for _, m := range n.keys {
		if strings.EqualFold(m.name, name) {
			return m.val, true
		}
	}
	return nil, false
}

// lineIndex turns byte offsets into 1-based line and column (the column is
// the byte offset in the line, as for the HR CSV).
type lineIndex []int64

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, int64(i+1))
		}
	}
	return idx
}

func (li lineIndex) pos(file string, off int64) pos {
	line := sort.Search(len(li), func(i int) bool { return li[i] > off })
	return pos{File: file, Line: line, Col: int(off-li[line-1]) + 1}
}
