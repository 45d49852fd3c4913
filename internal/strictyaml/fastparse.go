package strictyaml

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
	yamlv3 "go.yaml.in/yaml/v3"
)

// The fast path. goccy's scanner and parser cost about 4 µs and 500 bytes a
// token, so a catalog of 100,000 roles took 15 s to parse. go.yaml.in/yaml/v3
// parses the same file several times faster into yaml.Node, which has the
// line and column of every node. A plain document (one mapping at the root;
// no anchor, alias, merge key or explicit tag; within the nesting and keys
// limits) is parsed by it and rebuilt as the goccy AST the decoder walks,
// each scalar typed by goccy's own rules (token.New), so the decoder sees
// what goccy's parser would have built. Anything else (a syntax error, a
// second document, an alias, a limit reached) is parsed by goccy as before,
// and so is every document whose decode found a problem: every message and
// position a user reads comes from the exact path.

// fastParse parses text with yaml/v3 and returns the document's body as a
// goccy AST, or false when the exact path must decide.
func fastParse(text []byte, lim Limits) (ast.Node, bool) {
	if fastRefusesText(text) {
		return nil, false
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(text))
	var doc yamlv3.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, false // a syntax error or an empty file: goccy decides
	}
	var next yamlv3.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, false // a second document, or text after the first
	}
	if doc.Kind != yamlv3.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yamlv3.MappingNode {
		return nil, false
	}
	b := fastBuilder{lim: lim, text: text, colon: &token.Token{Type: token.MappingValueType, Value: ":", Position: &token.Position{}}}
	n := b.node(doc.Content[0], 1)
	if b.refused {
		return nil, false
	}
	return n, true
}

// fastBuilder rebuilds a yaml.Node tree as goccy AST nodes. refused is set
// at the first node the fast path leaves to goccy.
type fastBuilder struct {
	lim     Limits
	text    []byte
	lines   []int // where each line starts, once rest needs it
	cur     cursor
	refused bool
	flow    int // open flow collections
	// Strings, their tokens and positions are allocated in blocks: a
	// large catalog has millions of them.
	positions slab[token.Position]
	tokens    slab[token.Token]
	strings   slab[ast.StringNode]
	bases     slab[ast.BaseNode]
	pairs     slab[ast.MappingValueNode]
	// colon is the ":" of every pair: the decoder places a pair at its
	// key, never at its ":", so they share one token.
	colon *token.Token
}

// slab hands out pointers into blocks of T.
type slab[T any] struct{ free []T }

func (s *slab[T]) new() *T {
	if len(s.free) == 0 {
		s.free = make([]T, 1024)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// str is ast.String(token.String(v, v, pos)), allocated from the slabs.
func (b *fastBuilder) str(v string, pos *token.Position) *ast.StringNode {
	tk := b.tokens.new()
	*tk = token.Token{Type: token.StringType, CharacterType: token.CharacterTypeMiscellaneous, Indicator: token.NotIndicator,
		Value: v, Origin: v, Position: pos}
	n := b.strings.new()
	*n = ast.StringNode{BaseNode: b.bases.new(), Token: tk, Value: v}
	return n
}

// depthSlack keeps the fast path clear of the nesting limit: goccy's
// limiter counts block and flow levels a little differently from yaml.Node
// depth, so a document near the limit is left to it.
const depthSlack = 2

func (b *fastBuilder) node(n *yamlv3.Node, depth int) ast.Node {
	if b.refused || n.Anchor != "" || n.Style&yamlv3.TaggedStyle != 0 || depth > b.lim.Depth-depthSlack {
		b.refused = true
		return nil
	}
	switch n.Kind {
	case yamlv3.MappingNode:
		return b.mapping(n, depth)
	case yamlv3.SequenceNode:
		if n.Style&yamlv3.FlowStyle != 0 {
			b.flow++
			defer func() { b.flow-- }()
		}
		seq := ast.Sequence(b.token(n, "-"), n.Style&yamlv3.FlowStyle != 0)
		seq.Values = make([]ast.Node, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind == yamlv3.ScalarNode && c.Style == 0 && c.Value == "" {
				// An empty entry: its position names the entry, and goccy
				// places it otherwise.
				b.refused = true
				return nil
			}
			if n.Style&yamlv3.FlowStyle != 0 && c.Kind == yamlv3.MappingNode && !bytes.HasPrefix(b.rest(c), []byte("{")) {
				// A single pair in a flow list ("[a: b]"), which goccy
				// reads otherwise.
				b.refused = true
				return nil
			}
			seq.Values = append(seq.Values, b.node(c, depth+1))
		}
		return seq
	case yamlv3.ScalarNode:
		return b.scalar(n)
	}
	b.refused = true // an alias
	return nil
}

func (b *fastBuilder) mapping(n *yamlv3.Node, depth int) ast.Node {
	if len(n.Content)/2 > b.lim.Keys {
		b.refused = true
		return nil
	}
	if n.Style&yamlv3.FlowStyle != 0 {
		b.flow++
		defer func() { b.flow-- }()
	}
	m := ast.Mapping(b.token(n, "{"), n.Style&yamlv3.FlowStyle != 0)
	m.Values = make([]*ast.MappingValueNode, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		if kn.Kind != yamlv3.ScalarNode || kn.Tag == "!!merge" || kn.Anchor != "" || kn.Style&yamlv3.TaggedStyle != 0 {
			b.refused = true
			return nil
		}
		key, ok := b.scalar(kn).(ast.MapKeyNode)
		if !ok {
			b.refused = true
			return nil
		}
		val := b.node(n.Content[i+1], depth+1)
		n.Content[i], n.Content[i+1] = nil, nil // rebuilt: let the collector have it
		mv := b.pairs.new()
		*mv = ast.MappingValueNode{BaseNode: b.bases.new(), Start: b.colon, Key: key, Value: val}
		m.Values = append(m.Values, mv)
	}
	return m
}

// scalar types a scalar as goccy does: a plain scalar by goccy's own
// keyword and number rules, a quoted one as a string, a block scalar as a
// literal.
func (b *fastBuilder) scalar(n *yamlv3.Node) ast.Node {
	pos := b.positions.new()
	*pos = token.Position{Line: n.Line, Column: n.Column}
	switch {
	case n.Style&(yamlv3.LiteralStyle|yamlv3.FoldedStyle) != 0:
		if !b.plainHeader(n) || strings.Trim(n.Value, "\n") == "" || !bytes.HasSuffix(b.text, []byte("\n")) {
			// goccy refuses a block scalar without content, and folds
			// one that ends the file without a line break otherwise.
			b.refused = true
			return nil
		}
		lit := ast.Literal(&token.Token{Type: token.LiteralType, Value: "|", Position: pos})
		lit.Value = ast.String(token.New(n.Value, n.Value, pos))
		lit.Value.Value = n.Value
		return lit
	case n.Style&(yamlv3.DoubleQuotedStyle|yamlv3.SingleQuotedStyle) != 0:
		if !closesOnItsLine(b.rest(n)) {
			// A quoted scalar over several lines: goccy folds it otherwise.
			b.refused = true
			return nil
		}
		return ast.String(token.DoubleQuote(n.Value, n.Value, pos))
	case b.flow > 0 && strings.IndexByte(n.Value, ':') >= 0:
		// A plain scalar with a ":" in a flow collection ("{a:b}"): goccy
		// splits it into a key and a value.
		b.refused = true
		return nil
	case n.Value != "" && !bytes.HasPrefix(b.rest(n), []byte(n.Value)):
		// A plain scalar over several lines: goccy places it otherwise.
		b.refused = true
		return nil
	case n.Value == "":
		return ast.Null(&token.Token{Type: token.ImplicitNullType, Position: pos})
	}
	if !strings.ContainsRune("0123456789+-.~nNtTfF", rune(n.Value[0])) {
		// No keyword or number starts otherwise: a string, as token.New
		// would find at more cost.
		return b.str(n.Value, pos)
	}
	tk := token.New(n.Value, n.Value, pos)
	switch tk.Type {
	case token.NullType:
		return ast.Null(tk)
	case token.BoolType:
		return ast.Bool(tk)
	case token.IntegerType, token.BinaryIntegerType, token.OctetIntegerType, token.HexIntegerType:
		return ast.Integer(tk)
	case token.FloatType:
		return ast.Float(tk)
	case token.InfinityType:
		return ast.Infinity(tk)
	case token.NanType:
		return ast.Nan(tk)
	case token.StringType:
		return ast.String(tk)
	}
	b.refused = true // a merge key or anything else goccy reads otherwise
	return nil
}

// plainHeader reports whether a block scalar's header is one of "|",
// "|-", "|+", ">", ">-" and ">+" alone on its line: goccy reads other
// headers (indentation indicators, comments) otherwise than yaml/v3.
func (b *fastBuilder) plainHeader(n *yamlv3.Node) bool {
	switch string(b.rest(n)) {
	case "|", "|-", "|+", ">", ">-", ">+":
		return true
	}
	return false
}

// rest returns the text of n's line from n's column on, without the line
// break; nil when the position is not in the text. Nodes come in document
// order, so it walks on from the previous node of the same line: a long
// flow list on one line costs no more than its length.
func (b *fastBuilder) rest(n *yamlv3.Node) []byte {
	if b.lines == nil {
		b.lines = []int{0}
		for i, c := range b.text {
			if c == '\n' {
				b.lines = append(b.lines, i+1)
			}
		}
	}
	if n.Line < 1 || n.Line > len(b.lines) {
		return nil
	}
	end := len(b.text)
	if n.Line < len(b.lines) {
		end = b.lines[n.Line] - 1 // the line's "\n"
	}
	if end > 0 && b.text[end-1] == '\r' {
		end--
	}
	off, col := b.lines[n.Line-1], 1
	if b.cur.line == n.Line && b.cur.col <= n.Column {
		off, col = b.cur.off, b.cur.col
	}
	// The column counts characters.
	for ; col < n.Column; col++ {
		if off >= end {
			return nil
		}
		_, size := utf8.DecodeRune(b.text[off:end])
		off += size
	}
	b.cur = cursor{n.Line, col, off}
	return b.text[off:end]
}

// cursor is where rest last found a column: the byte offset of column col
// of line.
type cursor struct{ line, col, off int }

// token is a token of value v at n's position, from the slabs.
func (b *fastBuilder) token(n *yamlv3.Node, v string) *token.Token {
	pos := b.positions.new()
	*pos = token.Position{Line: n.Line, Column: n.Column}
	tk := b.tokens.new()
	*tk = token.Token{Value: v, Position: pos}
	return tk
}

// fastRefusesText reports text the fast path leaves to goccy without
// parsing it:
//   - a tab, or a space at the end of a line (goccy counts the columns of a
//     scalar with trailing spaces, or after a tab, otherwise);
//   - a "?" that may be an explicit key indicator (one before a space or a
//     line's end, or in a flow collection before ",", "]" or "}"; or one
//     that starts a word): yaml.Node does not say how a key was written, and goccy
//     reads such a key as a key node, not a scalar;
//   - a "!" that may start a tag (one at the start of a word): yaml.Node
//     drops the non-specific tag "!";
//   - a "%" that may start a directive;
//   - a backslash: goccy knows fewer escapes in double quotes;
//   - a carriage return that is not part of a CRLF line break;
//   - "<<" anywhere (goccy reads a merge key even inside a plain scalar);
//   - a document end marker "...", or "---" with text right after it, at
//     the start of a line (goccy reads "...0" as a marker and a scalar).
//
// Such a character inside a scalar only sends the file down the exact path.
func fastRefusesText(text []byte) bool {
	for _, sub := range []string{"\t", "\\", "<<", " \n", " \r", "\n%"} {
		if bytes.Contains(text, []byte(sub)) {
			return true
		}
	}
	if bytes.HasSuffix(text, []byte(" ")) || bytes.HasPrefix(text, []byte("%")) {
		return true
	}
	for i, c := range text {
		if refusedAt(text, i, c) {
			return true
		}
	}
	return false
}

// refusedAt reports a character of fastRefusesText's list at text[i] (c):
// a marker at a line's start, a lone CR, a "?" or "!" that may be an
// indicator.
func refusedAt(text []byte, i int, c byte) bool {
	first, last := i == 0, i+1 == len(text)
	switch {
	case (first || text[i-1] == '\n') && (c == '.' || c == '-'):
		return docMarker(text[i:])
	case c == '\r':
		return last || text[i+1] != '\n'
	case c == '?':
		return first || last || strings.IndexByte(" \n[{,", text[i-1]) >= 0 || strings.IndexByte(" \r\n,]}", text[i+1]) >= 0
	case c == '!':
		return first || strings.IndexByte(" \n[{,:-", text[i-1]) >= 0
	}
	return false
}

// docMarker reports whether line starts with "..." or with "---" and text
// right after it.
func docMarker(line []byte) bool {
	switch {
	case bytes.HasPrefix(line, []byte("...")):
		return true
	case bytes.HasPrefix(line, []byte("---")):
		return len(line) > 3 && strings.IndexByte(" \r\n", line[3]) < 0
	}
	return false
}

// closesOnItsLine reports whether the quoted scalar at the start of rest
// (the rest of its line) closes on that line. There is no backslash
// escape on the fast path; a single-quoted scalar escapes a quote as "”".
func closesOnItsLine(rest []byte) bool {
	if len(rest) == 0 {
		return false
	}
	q := rest[0]
	for i := 1; i < len(rest); i++ {
		if rest[i] != q {
			continue
		}
		if q == '\'' && i+1 < len(rest) && rest[i+1] == '\'' {
			i++
			continue
		}
		return true
	}
	return false
}
