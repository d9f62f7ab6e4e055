package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
)

// numeric matches a plain decimal number, which a spreadsheet reads as a
// number even when it starts with a sign: "-1.23", "+4", "1e-3".
var numeric = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// safeCell neutralises a cell a spreadsheet would execute as a formula
// (OWASP's rule for CSV injection): one starting with = + - @ TAB or CR gets
// a leading single quote, so it is shown as text. Plain numbers are left as
// they are, so numeric columns stay numeric.
func safeCell(s string) string {
	if s == "" || numeric.MatchString(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// safeCSV writes header and rows as CSV with every cell neutralised by
// safeCell.
func safeCSV(header []string, rows func(yield func([]string) bool)) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	write := func(rec []string) bool {
		out := make([]string, len(rec))
		for i, s := range rec {
			out[i] = safeCell(s)
		}
		return w.Write(out) == nil
	}
	if header != nil {
		write(header)
	}
	rows(write)
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	return buf.Bytes(), nil
}

// neutraliseCSV re-writes the CSV in b with every cell neutralised by
// safeCell: for tables written by other packages (survey).
func neutraliseCSV(b []byte) ([]byte, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	var readErr error
	out, err := safeCSV(nil, func(yield func([]string) bool) {
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				readErr = err
				return
			}
			if !yield(rec) {
				return
			}
		}
	})
	if readErr != nil {
		return nil, fmt.Errorf("read csv: %w", readErr)
	}
	return out, err
}
