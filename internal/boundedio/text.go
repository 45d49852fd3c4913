package boundedio

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// TextError is a byte that has no place in a text file: a NUL, or one that
// is not valid UTF-8. Line and Col (1-based, Col in characters) are where
// the first one is.
type TextError struct {
	Line, Col int
	// Byte is the offending byte (0 for a NUL).
	Byte byte
}

func (e *TextError) Error() string {
	if e.Byte == 0 {
		return "NUL byte: the file must be text"
	}
	return fmt.Sprintf("invalid UTF-8 (byte 0x%02x): the file must be UTF-8 text", e.Byte)
}

var bom = []byte("\xef\xbb\xbf")

// CheckText checks that data is UTF-8 text without NUL bytes, as every
// text input (YAML, CSV) must be, and returns it without a leading UTF-8
// byte order mark, which spreadsheet exports often write. The error is a
// *TextError at the first bad byte.
func CheckText(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, bom)
	if bytes.IndexByte(data, 0) < 0 && utf8.Valid(data) {
		return data, nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == 0:
			return nil, &TextError{Line: line, Col: col}
		case r == utf8.RuneError && n <= 1:
			return nil, &TextError{Line: line, Col: col, Byte: data[i]}
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += n
	}
	return data, nil
}
