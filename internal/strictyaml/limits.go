package strictyaml

import (
	"errors"
	"fmt"
	"io"

	"github.com/goccy/go-yaml/scanner"
	"github.com/goccy/go-yaml/token"

	"github.com/nhiscan/nhiscan/internal/boundedio"
)

// Limits bound the work one YAML file may cause. The file's size is
// bounded by whoever reads it (internal/boundedio); these bound what the
// parser and the decoder do with it, and are checked while the file is
// tokenised, before goccy's parser builds anything, so a hostile file is
// refused in proportion to the bytes read up to the problem. A zero field
// takes its default from DefaultLimits.
type Limits struct {
	// Depth is the deepest nesting of mappings and lists.
	Depth int
	// Tokens is the most YAML tokens (keys, values, indicators such as
	// ":", "-", "[" and "{") in one file.
	Tokens int
	// Keys is the most keys in one mapping. goccy's parser takes time
	// quadratic in the keys of one block mapping (a mapping of 40,000 keys
	// takes it over 20 s); at 200 keys that costs about as much as the
	// keys' own parsing, and no nhiscan file has a mapping near it.
	Keys int
	// AliasExpansion bounds the nodes decoded through aliases and merge
	// keys: at most AliasExpansion times the document's own nodes (and
	// never less than minAliasNodes), so a file that expands itself
	// exponentially ("billion laughs") is refused while a file that reuses
	// an anchor now and then is not.
	AliasExpansion int
}

// DefaultLimits are the limits of a Decoder whose Limits are zero. They
// are documented in docs/catalog.md and docs/configuration.md.
var DefaultLimits = Limits{Depth: 64, Tokens: 8_000_000, Keys: 200, AliasExpansion: 10}

// minAliasNodes is the expansion a small document may always use.
const minAliasNodes = 100_000

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Depth > 0 {
		d.Depth = l.Depth
	}
	if l.Tokens > 0 {
		d.Tokens = l.Tokens
	}
	if l.Keys > 0 {
		d.Keys = l.Keys
	}
	if l.AliasExpansion > 0 {
		d.AliasExpansion = l.AliasExpansion
	}
	return d
}

// checkText refuses a NUL byte or invalid UTF-8, naming the first one's
// line and column, and drops a UTF-8 byte order mark: YAML is text, and
// neither may reach the parser.
func checkText(file string, data []byte) ([]byte, *Error) {
	text, err := boundedio.CheckText(data)
	var te *boundedio.TextError
	if errors.As(err, &te) {
		msg := "NUL byte: a YAML file is text"
		if te.Byte != 0 {
			msg = fmt.Sprintf("invalid UTF-8 (byte 0x%02x): a YAML file must be UTF-8", te.Byte)
		}
		return nil, &Error{File: file, Line: te.Line, Col: te.Col, Msg: msg}
	}
	return text, nil
}

// limiter follows the token stream's structure closely enough to bound
// nesting depth and keys per mapping; it is not a parser, and goccy's
// parser still decides what the tokens mean.
type limiter struct {
	file   string
	lim    Limits
	tokens int
	// block holds the open block collections by column: a key (a mapping)
	// or a "-" (a list).
	block []blockLevel
	// flow holds the open flow collections ("[" or "{").
	flow []flowLevel
	prev *token.Token // the last token that is not a comment
}

type blockLevel struct {
	col  int
	dash bool // a list's "-", else a mapping's key
	keys int
}

type flowLevel struct {
	mapping bool
	keys    int
}

// scanTokens tokenises text as goccy's lexer does, checking each token
// against the limits as it comes, so a hostile file stops at the first
// token over a limit.
func scanTokens(file string, text []byte, lim Limits) (token.Tokens, *Error) {
	var s scanner.Scanner
	s.Init(string(text))
	l := &limiter{file: file, lim: lim}
	var tokens token.Tokens
	for {
		sub, err := s.Scan()
		if err == io.EOF {
			break
		}
		for _, tk := range sub {
			if e := l.see(tk); e != nil {
				return nil, e
			}
		}
		tokens.Add(sub...)
	}
	return tokens, nil
}

func (l *limiter) errAt(tk *token.Token, format string, args ...any) *Error {
	e := &Error{File: l.file, Msg: fmt.Sprintf(format, args...)}
	if tk.Position != nil {
		e.Line, e.Col = tk.Position.Line, tk.Position.Column
	}
	return e
}

func (l *limiter) see(tk *token.Token) *Error {
	l.tokens++
	if l.tokens > l.lim.Tokens {
		return l.errAt(tk, "more than %d YAML tokens: over the limit for one file (split it into several files)", l.lim.Tokens)
	}
	prev := l.prev
	if tk.Type != token.CommentType {
		l.prev = tk
	}
	switch tk.Type {
	case token.DocumentHeaderType, token.DocumentEndType:
		l.block, l.flow = l.block[:0], l.flow[:0]
	case token.SequenceStartType, token.MappingStartType:
		l.flow = append(l.flow, flowLevel{mapping: tk.Type == token.MappingStartType})
		return l.depth(tk)
	case token.SequenceEndType, token.MappingEndType:
		if len(l.flow) > 0 {
			l.flow = l.flow[:len(l.flow)-1]
		}
	case token.SequenceEntryType:
		if len(l.flow) == 0 {
			return l.blockNode(tk, col(tk), true)
		}
	case token.MappingValueType:
		// The key is the token before the ":".
		if len(l.flow) > 0 {
			return l.flowKey(tk)
		}
		if prev != nil {
			return l.blockNode(prev, col(prev), false)
		}
	}
	return nil
}

func col(tk *token.Token) int {
	if tk.Position == nil {
		return 0
	}
	return tk.Position.Column
}

// blockNode places a block key or "-" (tk, at column c): deeper collections
// close, a key at the column of a key is one more key of that mapping, a
// "-" at the column of a "-" is the next entry of that list, and anything
// else opens a collection one level deeper.
func (l *limiter) blockNode(tk *token.Token, c int, dash bool) *Error {
	for len(l.block) > 0 {
		top := l.block[len(l.block)-1]
		// A key at the column of a list's "-" ends the list (the list
		// was the value of a key at that column: "a:\n- x\nb: y").
		if top.col > c || (top.col == c && top.dash && !dash) {
			l.block = l.block[:len(l.block)-1]
			continue
		}
		break
	}
	if n := len(l.block); n > 0 && l.block[n-1].col == c && l.block[n-1].dash == dash {
		if !dash {
			l.block[n-1].keys++
			if l.block[n-1].keys > l.lim.Keys {
				return l.errAt(tk, "more than %d keys in one mapping: over the limit for a mapping", l.lim.Keys)
			}
		}
		return nil
	}
	l.block = append(l.block, blockLevel{col: c, dash: dash, keys: 1})
	return l.depth(tk)
}

func (l *limiter) flowKey(tk *token.Token) *Error {
	top := &l.flow[len(l.flow)-1]
	if !top.mapping {
		return nil // a single-pair mapping in a flow list
	}
	top.keys++
	if top.keys > l.lim.Keys {
		return l.errAt(tk, "more than %d keys in one mapping: over the limit for a mapping", l.lim.Keys)
	}
	return nil
}

func (l *limiter) depth(tk *token.Token) *Error {
	if d := len(l.block) + len(l.flow); d > l.lim.Depth {
		return l.errAt(tk, "mappings and lists nested more than %d levels deep: over the nesting limit", l.lim.Depth)
	}
	return nil
}
