package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sync"

	"contigo/growth"
)

// zBatchRows is the number of rows a worker takes at once: large enough to
// make the hand-over cheap, small enough to keep memory constant (a few
// hundred kilobytes per batch in flight).
const zBatchRows = 512

// zBatch is a run of consecutive input records and, once a worker has
// processed it, their output lines and messages. Its buffers are reused
// from batch to batch.
type zBatch struct {
	recs []zRecord         // the records read
	perr []*csv.ParseError // per record: why it is not valid CSV, or nil
	n    int               // records in use
	out  []byte            // output lines, in order
	msgs []byte            // messages for standard error, in order
	bad  bool              // some row was bad: exit status 1
	done chan struct{}
}

// zscoreParallel does what zscoreStream does, with the rows processed by
// workers goroutines: one goroutine reads and splits the CSV, the workers
// compute batches of rows, and the batches are written in input order, so
// standard output and standard error are byte for byte those of
// zscoreStream. At most 2*workers+2 batches exist at a time, so memory does
// not grow with the input.
func zscoreParallel(ctx context.Context, in io.Reader, stdout, stderr io.Writer, rules *growth.Rules, workers int) int {
	r := newZReader(in)
	w := bufio.NewWriterSize(stdout, 1<<16)
	p, code := zscoreHeader(r, w, stderr, rules)
	if p == nil {
		return code
	}

	inFlight := 2*workers + 2
	free := make(chan *zBatch, inFlight)
	for range inFlight {
		free <- &zBatch{done: make(chan struct{}, 1)}
	}
	work := make(chan *zBatch, inFlight)
	order := make(chan *zBatch, inFlight)

	var wg sync.WaitGroup
	for range workers { // p is read-only: the workers share it
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
			if b.n == len(b.recs) {
				b.recs = append(b.recs, zRecord{})
				b.perr = append(b.perr, nil)
			}
			err := r.read(&b.recs[b.n])
			b.perr[b.n] = nil
			if err == io.EOF {
				eof = true
				break
			}
			if perr, ok := errors.AsType[*csv.ParseError](err); ok {
				b.perr[b.n] = perr
			} else if err != nil {
				fatal, status, eof = fmt.Sprintf("contigo zscore: read: %v\n", err), 2, true
				break
			}
			b.n++
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

// process computes the output of every record with p, as zscoreStream's
// loop does for one.
func (b *zBatch) process(p *zscoreRow) {
	for i := range b.n {
		var bad bool
		b.out, b.msgs, bad = p.convert(b.out, b.msgs, &b.recs[i], b.perr[i])
		b.bad = b.bad || bad
	}
}
