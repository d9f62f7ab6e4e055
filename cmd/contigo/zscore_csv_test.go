package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// describeRecords calls next to the end of its input, describing each
// record (fields and their lines) or error on one line; reading goes on
// after a *csv.ParseError and stops at any other error.
func describeRecords(next func() (fields []string, lines []int, err error)) []string {
	var out []string
	for {
		fields, lines, err := next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			out = append(out, "error "+err.Error())
			if _, ok := errors.AsType[*csv.ParseError](err); !ok {
				return out
			}
			continue
		}
		out = append(out, fmt.Sprintf("%q lines %v", fields, lines))
	}
}

// csvRecords describes in as encoding/csv reads it, as the zscore command
// did before zReader.
func csvRecords(in string) []string {
	r := csv.NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	return describeRecords(func() ([]string, []int, error) {
		rec, err := r.Read()
		if err != nil {
			return nil, nil, err
		}
		lines := make([]int, len(rec))
		for i := range rec {
			lines[i], _ = r.FieldPos(i)
		}
		return rec, lines, nil
	})
}

// zRecords does what csvRecords does with a zReader whose buffer has size
// bytes, and fails if a record said to be verbatim is not what
// encoding/csv's Writer writes for its fields.
func zRecords(t testing.TB, in string, size int) []string {
	r := newZReaderSize(strings.NewReader(in), size)
	var rec zRecord
	return describeRecords(func() ([]string, []int, error) {
		if err := r.read(&rec); err != nil {
			return nil, nil, err
		}
		fields := rec.strings()
		lines := make([]int, len(fields))
		for i := range fields {
			lines[i] = rec.lineOf(i)
		}
		if rec.verbatim {
			var b strings.Builder
			w := csv.NewWriter(&b)
			w.Write(fields)
			w.Flush()
			if want := strings.TrimSuffix(b.String(), "\n"); string(rec.buf) != want {
				t.Fatalf("verbatim record %q, csv.Writer writes %q", rec.buf, want)
			}
		}
		return fields, lines, nil
	})
}

// sameRecords fails unless zReader, with a large and a tiny buffer, reads
// what encoding/csv reads.
func sameRecords(t testing.TB, in string) {
	t.Helper()
	want := csvRecords(in)
	for _, size := range []int{1 << 16, 16} {
		got := zRecords(t, in, size)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("buffer %d, input %q:\ngot\n%s\nwant\n%s", size, in,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// zReaderSeeds are inputs with the cases encoding/csv treats specially.
var zReaderSeeds = []string{
	"",
	"a,b\n1,2\n",
	"a,b\r\n1,2\r\n",
	"a,b\n1,2",
	"a,b\n1,2\r",
	"a\r\r\nb\r\rc\r",
	"\n\n\r\na\n\n,\n,,\n",
	"a,\"b\nc\",d\ne,f\n\"g\"\"h\",i\n",
	"a,b\n1,4\"4\nx,y\n",
	"a,b\n\"x\"y,1\n2,3\n",
	"a,b\n\"unterminated,1\n2,3\n",
	"a,b\n1,\"x\n\n\ny\"\n\n3,4",
	" a,\\.,\t,\u00a0x,\u3000,é, b\n",
	"\ufeffsex,age\n1,2\n",
	strings.Repeat("x", 40) + "," + strings.Repeat("y", 30) + "\n\"" + strings.Repeat("z", 50) + "\",1\n" + strings.Repeat("w", 70),
}

// TestZReaderMatchesEncodingCSV: zReader returns encoding/csv's fields,
// lines and errors, for short and long lines alike.
func TestZReaderMatchesEncodingCSV(t *testing.T) {
	t.Parallel()
	for _, in := range append(zReaderSeeds, benchRows(500)) {
		sameRecords(t, in)
	}
}

// FuzzZReader: zReader reads any input as encoding/csv does.
func FuzzZReader(f *testing.F) {
	for _, in := range zReaderSeeds {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { sameRecords(t, in) })
}
