package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"contigo/growth"
)

// streams runs the sequential and the parallel converter on in and fails
// unless standard output, standard error and the exit status are identical.
func sameAsSequential(t testing.TB, in string, workers int) {
	t.Helper()
	rules := growth.DefaultRules()
	var so, se, po, pe bytes.Buffer
	sc := zscoreStream(t.Context(), strings.NewReader(in), &so, &se, &rules)
	pc := zscoreParallel(t.Context(), strings.NewReader(in), &po, &pe, &rules, workers)
	if sc != pc {
		t.Fatalf("workers %d: exit %d, sequential %d", workers, pc, sc)
	}
	if !bytes.Equal(so.Bytes(), po.Bytes()) {
		t.Fatalf("workers %d: standard output differs (%d bytes, sequential %d)", workers, po.Len(), so.Len())
	}
	if !bytes.Equal(se.Bytes(), pe.Bytes()) {
		t.Fatalf("workers %d: standard error differs:\n%s\nsequential:\n%s", workers, pe.String(), se.String())
	}
}

// TestZscoreParallelSameBytes: many batches of good rows, bad rows (short,
// bad numbers, unknown codes), quoted fields spanning lines and malformed
// CSV give byte-identical output, messages and status for any worker count.
func TestZscoreParallelSameBytes(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(benchRows(3000))
	good := strings.SplitAfter(b.String(), "\n")
	var mixed strings.Builder
	mixed.WriteString(good[0])
	for i, row := range good[1:] {
		mixed.WriteString(row)
		switch i % 397 {
		case 5:
			mixed.WriteString("x,3,400,8,70,l,,,,,n\n") // unknown sex
		case 11:
			mixed.WriteString("\"multi\nline\",1,400,8,7o,l,,,,,n\n") // spans lines; bad number on line 2
		case 17:
			mixed.WriteString("y,1,400\n") // short row
		case 23:
			mixed.WriteString("z,1,400,8,70,l,4\"4,,,,n\n") // bare quote
		}
	}
	for _, in := range []string{b.String(), mixed.String(), "id,sex\n", good[0] + "1,1,400,8,70,l,,,,,n\n\"unterminated,1\n"} {
		for _, workers := range []int{2, 3, 7} {
			sameAsSequential(t, in, workers)
		}
	}
	for _, name := range []string{"reference-sample.tsv", "reference-sample-5to19.tsv"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "growth", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		// As CSV: the tab-separated lines are one field each, which
		// exercises the bad-row path on every line.
		sameAsSequential(t, string(data), 2)
		sameAsSequential(t, strings.ReplaceAll(string(data), "\t", ","), 2)
	}
}

// FuzzZscoreParallel: for any input, the parallel converter writes what the
// sequential one writes.
func FuzzZscoreParallel(f *testing.F) {
	f.Add(benchRows(5))
	f.Add("sex,age_days,weight\n1,400,8\n\"a\nb\",1\n2,x,9\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		sameAsSequential(t, in, 3)
	})
}

// benchZscore measures one converter on n generated rows, reporting rows
// per second.
func benchZscore(b *testing.B, n, workers int) {
	in := benchRows(n)
	rules := growth.DefaultRules()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var code int
		if workers <= 1 {
			code = zscoreStream(b.Context(), strings.NewReader(in), io.Discard, io.Discard, &rules)
		} else {
			code = zscoreParallel(b.Context(), strings.NewReader(in), io.Discard, io.Discard, &rules, workers)
		}
		if code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkZscoreParallel compares the sequential converter (workers=1)
// with the parallel one on 100,000 rows held in memory.
func BenchmarkZscoreParallel(b *testing.B) {
	const n = 100_000
	for _, w := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("rows=%d/workers=%d", n, w), func(b *testing.B) { benchZscore(b, n, w) })
	}
}

// BenchmarkZscoreMillions streams 1 and 10 million generated rows (the
// README's file, made on the fly, so the input takes no memory) through 1
// and 2 workers, reporting rows per second and the process's peak resident
// memory, which must not grow with the row count. Run it alone:
// go test ./cmd/contigo -run '^$' -bench ZscoreMillions -benchtime 1x
func BenchmarkZscoreMillions(b *testing.B) {
	rules := growth.DefaultRules()
	for _, n := range []int{1_000_000, 10_000_000} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("rows=%d/workers=%d", n, w), func(b *testing.B) {
				for b.Loop() {
					code := 0
					if w <= 1 {
						code = zscoreStream(b.Context(), &rowGenerator{n: n}, io.Discard, io.Discard, &rules)
					} else {
						code = zscoreParallel(b.Context(), &rowGenerator{n: n}, io.Discard, io.Discard, &rules, w)
					}
					if code != 0 {
						b.Fatalf("exit %d", code)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
				var ru syscall.Rusage
				if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
					b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
				}
			})
		}
	}
}

// rowGenerator reads as the README's generated file of n rows (the awk
// command in section "contigo zscore on every core"), made line by line.
type rowGenerator struct {
	n, i    int
	pending []byte
}

// Read implements io.Reader.
func (g *rowGenerator) Read(p []byte) (int, error) {
	for len(g.pending) < len(p) && g.i <= g.n {
		if g.i == 0 {
			g.pending = append(g.pending, "id,sex,age_days,weight,lenhei,measure,headc,armc,triskin,subskin,oedema,site\n"...)
		} else {
			k := g.i - 1
			g.pending = strconv.AppendInt(g.pending, int64(k), 10)
			g.pending = append(g.pending, ',', byte('1'+k%2), ',')
			g.pending = strconv.AppendInt(g.pending, int64(k%2200), 10)
			g.pending = append(g.pending, ',')
			g.pending = strconv.AppendFloat(g.pending, 3+float64(k%150)/10, 'f', 1, 64)
			g.pending = append(g.pending, ',')
			g.pending = strconv.AppendFloat(g.pending, 50+float64(k%700)/10, 'f', 1, 64)
			g.pending = append(g.pending, ",l,44.1,13.4,8.2,6.1,n,CO-"...)
			g.pending = append(strconv.AppendInt(g.pending, int64(k%50), 10), '\n')
		}
		g.i++
	}
	if len(g.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.pending)
	g.pending = g.pending[:copy(g.pending, g.pending[n:])]
	return n, nil
}

// TestAppendZ: the hundredths printer writes strconv's 'f', 2 bytes for
// every rounded z-score from -60 to 60 and a few large ones.
func TestAppendZ(t *testing.T) {
	for k := -6000; k <= 6000; k++ {
		z := growth.Round2(float64(k) / 100)
		want := strconv.AppendFloat(nil, z, 'f', 2, 64)
		if k == 0 {
			want = []byte("0.00")
		}
		if got := appendZ(nil, growth.Score{Z: z, OK: true}); string(got) != string(want) {
			t.Fatalf("appendZ(%v) = %s, want %s", z, got, want)
		}
	}
	for _, z := range []float64{-0.0, 123456.78, -9999999.99, 1e13} {
		want := strconv.AppendFloat(nil, z, 'f', 2, 64)
		if z == 0 {
			want = []byte("0.00")
		}
		if got := appendZ(nil, growth.Score{Z: z, OK: true}); string(got) != string(want) {
			t.Errorf("appendZ(%v) = %s, want %s", z, got, want)
		}
	}
}
