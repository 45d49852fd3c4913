package boundedio_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/boundedio"
)

func TestCheckText(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"a,b\n":                     "a,b\n",
		"\xef\xbb\xbfa,b\n":         "a,b\n",
		"é,\u202e\n":                "é,\u202e\n",
		"\xef\xbb\xbf\xef\xbb\xbfx": "\xef\xbb\xbfx", // only the leading mark is dropped
	} {
		got, err := boundedio.CheckText([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("CheckText(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]boundedio.TextError{
		"a\x00":                 {Line: 1, Col: 2},
		"ab\ncé\xff":            {Line: 2, Col: 3, Byte: 0xff},
		"\xef\xbb\xbfx\n\n\xc3": {Line: 3, Col: 1, Byte: 0xc3},
		"\xed\xa0\x80":          {Line: 1, Col: 1, Byte: 0xed}, // a UTF-16 surrogate
	} {
		_, err := boundedio.CheckText([]byte(in))
		var te *boundedio.TextError
		if !errors.As(err, &te) {
			t.Errorf("CheckText(%q) = %v, want a *TextError", in, err)
			continue
		}
		if diff := cmp.Diff(want, *te); diff != "" {
			t.Errorf("CheckText(%q) (-want +got):\n%s", in, diff)
		}
	}
	_, err := boundedio.CheckText([]byte("\x00"))
	if err.Error() != "NUL byte: the file must be text" {
		t.Errorf("NUL message %q", err)
	}
	_, err = boundedio.CheckText([]byte("\xfe"))
	if err.Error() != "invalid UTF-8 (byte 0xfe): the file must be UTF-8 text" {
		t.Errorf("UTF-8 message %q", err)
	}
}
