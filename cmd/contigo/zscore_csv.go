package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"unicode"
	"unicode/utf8"
)

// zRecord is one CSV record as the zscore command reads it: its fields
// joined by commas in buf, with the end of each in ends (field i is
// buf[ends[i-1]+1 : ends[i]], field 0 starts at 0). Its buffers are reused
// from record to record.
type zRecord struct {
	buf  []byte
	ends []int
	// verbatim: buf is the input line as read, which encoding/csv's Writer
	// would write unchanged, so it can be copied to the output as it is.
	verbatim bool
	line     int   // the line of the record's first field
	lines    []int // the line of each field when the record spans lines, else empty
}

// nfields returns the number of fields.
func (r *zRecord) nfields() int { return len(r.ends) }

// field returns field i, untrimmed.
func (r *zRecord) field(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1] + 1
	}
	return r.buf[start:r.ends[i]]
}

// lineOf returns the line of field i, as csv.Reader.FieldPos does.
func (r *zRecord) lineOf(i int) int {
	if len(r.lines) == 0 {
		return r.line
	}
	return r.lines[i]
}

// strings returns the fields as new strings.
func (r *zRecord) strings() []string {
	s := make([]string, r.nfields())
	for i := range s {
		s[i] = string(r.field(i))
	}
	return s
}

// setFields makes r hold fields, as encoding/csv returns them.
func (r *zRecord) setFields(fields []string) {
	r.buf, r.ends, r.verbatim, r.lines = r.buf[:0], r.ends[:0], false, r.lines[:0]
	for i, f := range fields {
		if i > 0 {
			r.buf = append(r.buf, ',')
		}
		r.buf = append(r.buf, f...)
		r.ends = append(r.ends, len(r.buf))
	}
}

// zReader reads CSV records exactly as an encoding/csv Reader with
// FieldsPerRecord -1 does (same fields, same line numbers, same errors),
// but splits a line without a double quote itself, without allocating. A
// line with a quote, which may start a record spanning lines or be
// malformed, and a line longer than the buffer go to an encoding/csv Reader
// fed one line at a time, so it never reads past the record.
type zReader struct {
	br   *bufio.Reader
	line int // lines consumed so far

	slow      *csv.Reader
	feed      lineFeeder // the slow reader's input
	slowLines int        // lines the slow reader has consumed
}

// newZReader returns a reader of in.
func newZReader(in io.Reader) *zReader { return newZReaderSize(in, 1<<16) }

// newZReaderSize returns a reader of in with a buffer of size bytes: lines
// longer than that take the slow path.
func newZReaderSize(in io.Reader, size int) *zReader {
	r := &zReader{br: bufio.NewReaderSize(in, size)}
	r.feed.br = r.br
	r.slow = csv.NewReader(&r.feed)
	r.slow.FieldsPerRecord = -1
	r.slow.ReuseRecord = true
	return r
}

// read reads the next record into rec. It returns io.EOF at the end, a
// *csv.ParseError (with the input's line numbers) for a record that is not
// valid CSV, after which reading goes on, or another error from the input.
func (r *zReader) read(rec *zRecord) error {
	for {
		raw, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return r.readSlow(rec, raw)
		}
		if len(raw) == 0 {
			if err == nil {
				err = io.EOF
			}
			return err
		}
		if err != nil && err != io.EOF {
			return err
		}
		// As csv.Reader's readLine: drop the newline, a \r before it and
		// a \r before the end of the input.
		content := raw
		if content[len(content)-1] == '\n' {
			content = content[:len(content)-1]
		}
		if n := len(content); n > 0 && content[n-1] == '\r' {
			content = content[:n-1]
		}
		if bytes.IndexByte(content, '"') >= 0 {
			return r.readSlow(rec, raw)
		}
		r.line++
		if len(content) == 0 {
			continue // csv.Reader skips empty lines
		}
		rec.split(content, r.line)
		return nil
	}
}

// split makes rec hold the fields of one line without quotes.
func (rec *zRecord) split(content []byte, line int) {
	rec.buf = append(rec.buf[:0], content...)
	rec.ends, rec.lines, rec.line = rec.ends[:0], rec.lines[:0], line
	verbatim := bytes.IndexByte(content, '\r') < 0
	start := 0
	for {
		i := bytes.IndexByte(rec.buf[start:], ',')
		end := len(rec.buf)
		if i >= 0 {
			end = start + i
		}
		if verbatim && end > start && fieldMayNeedQuotes(rec.buf[start:end]) {
			verbatim = !csvNeedsQuotes(rec.buf[start:end])
		}
		rec.ends = append(rec.ends, end)
		if i < 0 {
			break
		}
		start = end + 1
	}
	rec.verbatim = verbatim
}

// fieldMayNeedQuotes is a quick test for a field without a comma, quote or
// newline: false means csvNeedsQuotes is false.
func fieldMayNeedQuotes(f []byte) bool {
	c := f[0]
	return c == '\\' || c >= utf8.RuneSelf || c <= ' ' && unicode.IsSpace(rune(c))
}

// readSlow reads one record with the encoding/csv Reader, from the line
// whose bytes so far are raw (already taken from br).
func (r *zReader) readSlow(rec *zRecord, raw []byte) error {
	r.feed.pending = raw
	before := r.slowLines
	fields, err := r.slow.Read()
	// The slow reader takes whole lines, so the lines it took are the
	// newlines fed (a last line without one ends the input).
	base := r.line - before // input line = slow reader's line + base
	r.line += r.feed.newlines - before
	r.slowLines = r.feed.newlines
	if perr, ok := errors.AsType[*csv.ParseError](err); ok {
		e := *perr
		e.StartLine += base
		e.Line += base
		return &e
	}
	if err != nil {
		return err
	}
	rec.setFields(fields)
	rec.line, _ = r.slow.FieldPos(0)
	rec.line += base
	if last, _ := r.slow.FieldPos(len(fields) - 1); last+base != rec.line {
		for i := range fields {
			l, _ := r.slow.FieldPos(i)
			rec.lines = append(rec.lines, l+base)
		}
	}
	return nil
}

// lineFeeder gives the slow reader its input one line at a time, starting
// with pending, so that the csv.Reader's buffer never holds more than the
// lines of the record it reads.
type lineFeeder struct {
	br       *bufio.Reader
	pending  []byte // bytes taken from br, not yet fed
	newlines int    // newlines fed so far
}

// Read implements io.Reader.
func (f *lineFeeder) Read(p []byte) (int, error) {
	if len(f.pending) == 0 {
		line, err := f.br.ReadSlice('\n')
		if len(line) == 0 {
			if err == nil || err == bufio.ErrBufferFull {
				err = io.ErrNoProgress
			}
			return 0, err
		}
		f.pending = line
	}
	n := copy(p, f.pending)
	f.newlines += bytes.Count(f.pending[:n], []byte{'\n'})
	f.pending = f.pending[n:]
	return n, nil
}
