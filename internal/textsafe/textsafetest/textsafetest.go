// Package textsafetest holds the hostile payloads every output path is
// tested with, and the check that an output carries none of them raw.
package textsafetest

import (
	"fmt"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// Payloads are collected strings an attacker controls: terminal escapes
// (7-bit ESC and 8-bit C1 CSI), a bidi override and isolates, marks,
// controls, line separators and invalid UTF-8.
var Payloads = []string{
	"\u202eevil#name18",
	"a\x1b[2Jb",
	"\x1b]0;pwned\x07",
	"\u009b31mred",
	"\u0085next line",
	"x\u2066isolated\u2069y",
	"\u2067rtl\u2068fsi\u202a\u202b\u202c\u202d",
	"lrm\u200erlm\u200falm\u061c",
	"nul\x00del\x7f",
	"line\u2028para\u2029",
	"bad\xffutf8\xc3",
}

// Joined is every payload in one string, for a single field.
func Joined() string {
	s := ""
	for _, p := range Payloads {
		s += p + "|"
	}
	return s
}

// Raw returns a description of the first character out carries that no
// output may show as itself (tab, newline and carriage return allowed
// when layout is set), or "" when there is none.
func Raw(out string, layout bool) string {
	for i := 0; i < len(out); {
		r, n := utf8.DecodeRuneInString(out[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return fmt.Sprintf("invalid UTF-8 byte 0x%02x at byte %d", out[i], i)
		case r == '\t' || r == '\n' || r == '\r':
			if !layout {
				return fmt.Sprintf("%U at byte %d", r, i)
			}
		case r < 0x20 || textsafe.Unsafe(r):
			return fmt.Sprintf("%U at byte %d", r, i)
		}
		i += n
	}
	return ""
}
