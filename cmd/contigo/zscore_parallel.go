package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"contigo/growth"
)

// zBatchRows is the number of rows a worker takes at once: large enough to
// make the hand-over cheap, small enough to keep memory constant (a few
// hundred kilobytes per batch in flight).
const zBatchRows = 512

// zBatch is a run of consecutive input records and, once a worker has
// processed it, their output lines and messages.
type zBatch struct {
	recs  [][]string // the records, copied out of the csv.Reader
	n     int        // records in use
	lines [][]int    // per record: the line of each field when the record spans lines, else one entry
	perr  []*csv.ParseError
	out   []byte // output lines, in order
	msgs  []byte // messages for standard error, in order
	bad   bool   // some row was bad: exit status 1
	done  chan struct{}
}

// zscoreParallel does what zscoreStream does, with the rows processed by
// workers goroutines: one goroutine reads and splits the CSV, the workers
// compute batches of rows, and the batches are written in input order, so
// standard output and standard error are byte for byte those of
// zscoreStream. At most 2*workers+2 batches exist at a time, so memory does
// not grow with the input.
func zscoreParallel(ctx context.Context, in io.Reader, stdout, stderr io.Writer, rules *growth.Rules, workers int) int {
	r := csv.NewReader(bufio.NewReaderSize(in, 1<<16))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true // zBatch.add copies the fields
	w := bufio.NewWriterSize(stdout, 1<<16)

	header, err := r.Read()
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty input: no header line")
		}
		fmt.Fprintf(stderr, "contigo zscore: header: %v\n", err)
		return 2
	}
	p0, err := newZscoreRow(header, rules)
	if err != nil {
		fmt.Fprintf(stderr, "contigo zscore: line 1, %v\n", err)
		return 2
	}
	w.Write(p0.headerLine())

	inFlight := 2*workers + 2
	free := make(chan *zBatch, inFlight)
	for range inFlight {
		free <- &zBatch{done: make(chan struct{}, 1)}
	}
	work := make(chan *zBatch, inFlight)
	order := make(chan *zBatch, inFlight)

	var wg sync.WaitGroup
	for range workers {
		p, _ := newZscoreRow(header, rules) // the header was accepted above
		wg.Go(func() {
			for b := range work {
				b.process(p)
				b.done <- struct{}{}
			}
		})
	}

	// The writer: batches in input order.
	var writeErr error
	anyBad := false
	writerDone := make(chan struct{})
	stop := make(chan struct{}) // closed when writing failed
	go func() {
		defer close(writerDone)
		for b := range order {
			<-b.done
			anyBad = anyBad || b.bad
			if writeErr == nil {
				stderr.Write(b.msgs)
				if _, err := w.Write(b.out); err != nil {
					writeErr = err
					close(stop)
				}
			}
			free <- b
		}
	}()

	status, fatal := 0, ""
	rows := 0
read:
	for {
		var b *zBatch
		select {
		case b = <-free:
		case <-stop:
			break read
		}
		b.reset()
		eof := false
		for b.n < zBatchRows {
			if rows&1023 == 0 && ctx.Err() != nil {
				fatal, status = fmt.Sprintf("contigo zscore: interrupted: %v\n", context.Cause(ctx)), 1
				eof = true
				break
			}
			rec, err := r.Read()
			if err == io.EOF {
				eof = true
				break
			}
			if perr, ok := errors.AsType[*csv.ParseError](err); ok {
				b.add(nil, nil, perr)
			} else if err != nil {
				fatal, status, eof = fmt.Sprintf("contigo zscore: read: %v\n", err), 2, true
				break
			} else {
				b.add(rec, r, nil)
			}
			rows++
		}
		work <- b
		order <- b
		if eof {
			break
		}
	}
	close(work)
	close(order)
	wg.Wait()
	<-writerDone
	if writeErr != nil {
		fmt.Fprintf(stderr, "contigo zscore: write: %v\n", writeErr)
		return 2
	}
	if status == 2 {
		w.Flush()
		fmt.Fprint(stderr, fatal)
		return 2
	}
	if fatal != "" {
		fmt.Fprint(stderr, fatal)
	}
	if anyBad {
		status = 1
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "contigo zscore: write: %v\n", err)
		return 2
	}
	return status
}

func (b *zBatch) reset() {
	b.n, b.out, b.msgs, b.bad = 0, b.out[:0], b.msgs[:0], false
}

// add appends one record (rec, with its field lines from r) or its parse
// error.
func (b *zBatch) add(rec []string, r *csv.Reader, perr *csv.ParseError) {
	if b.n == len(b.recs) {
		b.recs = append(b.recs, nil)
		b.lines = append(b.lines, nil)
		b.perr = append(b.perr, nil)
	}
	i := b.n
	b.n++
	b.perr[i] = perr
	b.recs[i] = append(b.recs[i][:0], rec...)
	lines := b.lines[i][:0]
	if perr == nil && len(rec) > 0 {
		first, _ := r.FieldPos(0)
		last, _ := r.FieldPos(len(rec) - 1)
		lines = append(lines, first)
		if last != first { // a quoted field spans lines: keep every field's
			for f := 1; f < len(rec); f++ {
				l, _ := r.FieldPos(f)
				lines = append(lines, l)
			}
		}
	}
	b.lines[i] = lines
}

// line returns the line of field col (or of the record for col < 0) of
// record i.
func (b *zBatch) line(i, col int) int {
	l := b.lines[i]
	if col <= 0 || len(l) == 1 {
		return l[0]
	}
	return l[col]
}

// process computes the output of every record with p, as zscoreStream's
// loop does for one.
func (b *zBatch) process(p *zscoreRow) {
	for i := range b.n {
		if perr := b.perr[i]; perr != nil {
			b.msgs = fmt.Appendf(b.msgs, "line %d: malformed CSV at byte %d: %v\n", perr.Line, perr.Column, perr.Err)
			b.out, b.bad = append(b.out, p.badLine(nil)...), true
			continue
		}
		rec := b.recs[i]
		if col, name, reason := p.process(rec); reason != "" {
			lineNo := b.line(i, max(col, 0))
			b.msgs = append(append(b.msgs, "line "...), strconv.Itoa(lineNo)...)
			if name != "" {
				b.msgs = append(append(b.msgs, ", column "...), name...)
			}
			b.msgs = append(append(append(b.msgs, ": "...), reason...), '\n')
			b.out, b.bad = append(b.out, p.badLine(rec)...), true
			continue
		}
		b.out = append(b.out, p.out...)
	}
}
