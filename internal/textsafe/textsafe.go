// Package textsafe is the one place that decides how a collected string is
// shown to a person. Identity names, tags, ids, error bodies and file
// contents are hostile: a terminal escape (ESC, or a C1 control such as
// U+009B, the 8-bit CSI) can rewrite a terminal or a log viewer, and a
// bidirectional override (U+202E) can make "\u202eevil#name18" read
// "81eman#live" in a browser, an editor or a spreadsheet. Every output
// writer (terminal lines, HTML, CSV, JSON, email) goes through one of its
// functions, so each shows such characters as visible escapes ("\x1b",
// "\u202e") rather than obeying them:
//
//   - Term: one terminal line; every control character (tab and newline
//     included), bidi control, line separator and invalid UTF-8 escaped.
//   - Text and NewWriter: text with layout (HTML, CSV cells, email bodies);
//     tab, newline and carriage return kept, everything else Term escapes
//     escaped the same way.
//   - JSON and NewJSONWriter: encoded JSON; the characters encoding/json
//     leaves raw (DEL, C1 controls, bidi controls) rewritten as \u escapes,
//     so the decoded value is unchanged and the bytes are safe to view.
//
// It imports the standard library only.
package textsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r is never shown as itself, whatever the output:
// C0 controls other than tab, newline and carriage return, DEL, C1
// controls (U+0080–U+009F), the bidirectional controls (U+061C,
// U+200E–U+200F, U+202A–U+202E, U+2066–U+2069) and the line and paragraph
// separators (U+2028, U+2029).
func Unsafe(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return r > 0x9f && unicode.Is(unicode.Bidi_Control, r)
}

// escape appends r's visible escape: \x1b below U+0100, \u202e above.
func escape(b []byte, r rune) []byte {
	if r < 0x100 {
		return fmt.Appendf(b, `\x%02x`, r)
	}
	return fmt.Appendf(b, `\u%04x`, r)
}

// Term makes s safe as (part of) one terminal line: control characters
// (ANSI escape sequences, tabs, newlines), C1 controls, bidi controls, line
// separators and invalid UTF-8 are written as visible escapes, so a
// hostile name can neither drive the terminal nor forge or reorder a line.
func Term(s string) string {
	if termClean(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError:
			b = append(b, `\ufffd`...)
		case r == '\t' || r == '\n' || r == '\r' || Unsafe(r):
			b = escape(b, r)
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// termClean is the fast path: printable ASCII only.
func termClean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// Text makes s safe where line breaks are layout (an HTML page, a CSV
// cell, an email body): tab, newline and carriage return are kept; every
// other character Unsafe names, and invalid UTF-8, is written as a
// visible escape.
func Text(s string) string {
	if textClean(s) {
		return s
	}
	return string(appendText(nil, []byte(s)))
}

// textClean is the fast path: ASCII without unsafe controls.
func textClean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			return false
		}
	}
	return true
}

func appendText(b, src []byte) []byte {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b = append(b, `\ufffd`...)
		case Unsafe(r):
			b = escape(b, r)
		default:
			b = append(b, src[i:i+n]...)
		}
		i += n
	}
	return b
}

// JSON rewrites encoded JSON so that no unsafe character is raw: each is
// written as a \u escape, which JSON reads back as the same character.
// encoding/json already escapes C0 controls and U+2028/U+2029, and writes
// invalid UTF-8 as U+FFFD; it leaves DEL, C1 and bidi controls raw. Unsafe
// characters can only occur inside JSON strings, so the rewrite never
// changes what the JSON means.
func JSON(b []byte) []byte {
	if !strings.ContainsFunc(string(b), Unsafe) {
		return b
	}
	return appendJSON(make([]byte, 0, len(b)+16), b)
}

func appendJSON(out, src []byte) []byte {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if n > 0 && r != utf8.RuneError && Unsafe(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, src[i:i+n]...)
		}
		i += n
	}
	return out
}

// Writer applies Text or JSON to a stream. A character split across two
// Write calls is held back until it is whole; Flush writes what is held
// back (an incomplete, so invalid, sequence) escaped.
type Writer struct {
	w     io.Writer
	json  bool
	carry []byte
	buf   []byte
}

// NewWriter returns a Writer that applies Text to everything written to
// w: for a rendered HTML page or an email body.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// NewJSONWriter returns a Writer that applies JSON to everything written
// to w: for a stream of encoded JSON, such as a JSON log.
func NewJSONWriter(w io.Writer) *Writer { return &Writer{w: w, json: true} }

// Write writes p transformed. It reports len(p) written when w took all
// of the transformed bytes.
func (x *Writer) Write(p []byte) (int, error) {
	src := p
	if len(x.carry) > 0 {
		src = append(x.carry, p...)
		x.carry = nil
	}
	// Hold back an incomplete character at the end.
	cut := len(src)
	for k := 1; k <= utf8.UTFMax-1 && k <= len(src); k++ {
		if utf8.RuneStart(src[len(src)-k]) {
			if !utf8.FullRune(src[len(src)-k:]) {
				cut = len(src) - k
			}
			break
		}
	}
	x.carry = append(x.carry, src[cut:]...)
	x.buf = x.buf[:0]
	if x.json {
		x.buf = appendJSON(x.buf, src[:cut])
	} else {
		x.buf = appendText(x.buf, src[:cut])
	}
	if _, err := x.w.Write(x.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes any incomplete character held back, escaped.
func (x *Writer) Flush() error {
	if len(x.carry) == 0 {
		return nil
	}
	out := appendText(nil, x.carry)
	x.carry = nil
	_, err := x.w.Write(out)
	return err
}
