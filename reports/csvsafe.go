package reports

import (
	"encoding/csv"
	"io"

	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// SafeCell neutralises a CSV cell against formula injection (CWE-1236).
//
// Spreadsheets (Excel, LibreOffice Calc, Google Sheets) evaluate a cell whose
// first character is '=', '+', '-' or '@' as a formula, and also treat a
// leading tab (0x09) or carriage return (0x0D) as formula-capable; such a
// cell in an export can exfiltrate data or run commands on the auditor's
// machine. Following the OWASP CSV Injection guidance (and ASVS 1.2.10,
// which adds NUL), a cell starting with any of these characters is prefixed
// with a single quote, which the spreadsheet shows as text. The quote stays
// visible to plain CSV readers; that is the accepted price. nhiscan never
// writes negative numbers, so prefixing a leading '-' never changes a value
// we computed, only collected strings. Quoting of commas, quotes and newlines
// is left to encoding/csv (RFC 4180).
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', 0:
		return "'" + s
	}
	return s
}

// csvWriter writes rows through textsafe.Text (ESC, C1 and bidi controls
// shown as visible escapes: a spreadsheet or a terminal showing the file
// obeys neither) and SafeCell, and counts them. Every CSV this package
// writes goes through it.
type csvWriter struct {
	w    *csv.Writer
	rows int // data rows, header excluded
	buf  []string
}

func newCSVWriter(w io.Writer, header []string) (*csvWriter, error) {
	cw := &csvWriter{w: csv.NewWriter(w)}
	if err := cw.w.Write(header); err != nil {
		return nil, err
	}
	return cw, nil
}

func (cw *csvWriter) Write(cells ...string) error {
	cw.buf = cw.buf[:0]
	for _, c := range cells {
		cw.buf = append(cw.buf, SafeCell(textsafe.Text(c)))
	}
	cw.rows++
	return cw.w.Write(cw.buf)
}

func (cw *csvWriter) Flush() error {
	cw.w.Flush()
	return cw.w.Error()
}
