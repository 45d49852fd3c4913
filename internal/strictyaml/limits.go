package strictyaml

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/goccy/go-yaml/scanner"
	"github.com/goccy/go-yaml/token"

	"github.com/nhiscan/nhiscan/internal/boundedio"
)

// Limits bound the work one YAML file may cause. The file's size is
// bounded by whoever reads it (internal/boundedio); these bound what the
// parser and the decoder do with it: Tokens on the bytes before goccy's
// scanner runs (it tokenises a whole file at once), the others on the
// tokens before goccy's parser builds anything. A zero field takes its
// default from DefaultLimits.
type Limits struct {
	// Depth is the deepest nesting of mappings and lists.
	Depth int
	// Tokens is the most YAML tokens in one file, counted before the file
	// is tokenised as every word and indicator (see prescan): a count
	// never below goccy's own tokens.
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

// prescan bounds what goccy's scanner would build, before it runs: the
// scanner tokenises a whole file in one call, so 64 MiB of "[" would be
// 67 million tokens (gigabytes) before any check on the tokens could stop
// it. This pass allocates nothing and counts an upper bound of the tokens
// the scanner makes (FuzzPrescanIsAnUpperBound holds it to that): every
// indicator that can start a token, and every run of other characters (a
// plain scalar with its spaces, a word of a comment or a quoted scalar).
// It skips nothing, so no quote or comment it misreads can hide tokens
// from it; quoted and commented text counts a little more than the
// scanner's tokens. It stops at the first byte over the limit.
func prescan(file string, text []byte, lim Limits) *Error {
	p := newPrescanner(text)
	for p.i < len(text) {
		p.step()
		if p.tokens > lim.Tokens {
			return p.errAt(file, "more than %d YAML tokens: over the limit for one file (split it into several files)", lim.Tokens)
		}
	}
	return nil
}

type prescanner struct {
	text   []byte
	i      int
	tokens int
	flow   int  // open flow collections, as far as brackets tell
	inRun  bool // inside a run of characters that is one token
	word   bool // the run is an anchor, alias, tag, directive or quoted: a space ends it
	start  int  // where the last token started, for errors
	// directive is set from a "%" to the end of its line: every word of
	// a directive is a token.
	directive bool
}

// newPrescanner starts the count at one: the invalid token the scanner
// may end with (a tab where indentation belongs) need not match a byte
// the count sees.
func newPrescanner(text []byte) prescanner { return prescanner{text: text, tokens: 1} }

func (p *prescanner) errAt(file, format string, args ...any) *Error {
	line, col := 1, 1
	for _, b := range p.text[:p.start] {
		if b == '\n' {
			line, col = line+1, 1
		} else if b < 0x80 || b >= 0xc0 {
			col++
		}
	}
	return &Error{File: file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// token counts a token starting at the current byte; it ends a run.
func (p *prescanner) token() {
	p.tokens++
	p.start = p.i
	p.inRun = false
}

// spaceAfter reports whether the byte after the current one ends an
// indicator (":", "-", "?" are indicators only before a space or the end
// of a line; in a flow collection also before ",", "]" and "}").
func (p *prescanner) spaceAfter() bool {
	if p.i+1 >= len(p.text) {
		return true
	}
	switch p.text[p.i+1] {
	case ' ', '\t', '\r', '\n':
		return true
	case ',', ']', '}':
		return p.flow > 0
	}
	return false
}

// ends reports whether c, inside a run, starts a token of its own. Flow
// indicators, ":", "?" and quotes always do, whatever the brackets so far
// (a stray "}" must not make the count believe a flow collection closed):
// "arn:aws:iam::x" and "a, b" count more than they are, never less.
func (p *prescanner) ends(c byte) bool {
	if strings.IndexByte(",[]{}:?'\"", c) >= 0 {
		return true
	}
	// An indicator inside an anchor, alias, tag or directive.
	return p.word && strings.IndexByte("&*@`|>#%", c) >= 0
}

func (p *prescanner) step() {
	c := p.text[p.i]
	switch {
	case c == '\n' || c == '\r':
		p.inRun, p.directive = false, false
		p.i++
	case c == ' ' || c == '\t':
		// Every word counts: a plain scalar of three words counts three.
		// What follows a space depends on state this count does not keep
		// (after a stray bracket the scanner splits words), so an
		// over-count is the safe side.
		p.inRun = false
		p.i++
	case (c == '-' || c == '.') && p.documentMarker():
		p.token()
		p.i += 3
	case c == '%':
		// A directive: "%", its name and each parameter are tokens.
		p.token()
		p.tokens++
		p.inRun, p.word, p.directive = true, true, true
		p.i++
	case p.inRun && !p.ends(c):
		p.i++
	case c == '[' || c == '{':
		p.token()
		p.flow++
		p.i++
	case c == ']' || c == '}' || c == ',':
		p.token()
		if c != ',' && p.flow > 0 {
			p.flow--
		}
		p.i++
	case c == ':' || c == '?' || (c == '-' && p.spaceAfter()):
		p.token()
		p.i++
	default:
		p.token()
		if strings.IndexByte("&*@`|>", c) >= 0 {
			// The scanner makes an anchor's or alias's indicator and name
			// two tokens, a block scalar its header and its content, and
			// a reserved indicator an invalid one.
			p.tokens++
		}
		// A quoted scalar counts a token a word: an over-count, but one
		// that never misses what a quote the scanner reads otherwise hides.
		p.inRun, p.word = true, p.directive || strings.IndexByte("&*!'\"", c) >= 0
		p.i++
	}
}

// documentMarker reports whether "---" or "..." starts a line here (the
// scanner takes "...0" for a marker and a scalar: so does this count).
func (p *prescanner) documentMarker() bool {
	t := p.text[p.i:]
	return (p.i == 0 || p.text[p.i-1] == '\n') && len(t) >= 3 && t[1] == t[0] && t[2] == t[0]
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

// scanTokens tokenises text as goccy's lexer does, after prescan has
// bounded the tokens and flow nesting (the caller runs it first), and
// checks the tokens against the limits that need their structure (block
// nesting, keys per mapping).
func scanTokens(file string, text []byte, lim Limits) (token.Tokens, *Error) {
	l := &limiter{file: file, lim: lim}
	return lex(text, l.see)
}

// lex tokenises text as goccy's lexer does, passing each token to see,
// but stops at the first invalid token (the parser stops there).
func lex(text []byte, see func(*token.Token) *Error) (token.Tokens, *Error) {
	var s scanner.Scanner
	s.Init(string(text))
	var tokens token.Tokens
	for {
		sub, err := s.Scan()
		if err == io.EOF {
			break
		}
		for _, tk := range sub {
			if e := see(tk); e != nil {
				return nil, e
			}
		}
		tokens.Add(sub...)
		if err != nil {
			break
		}
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
