package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"contigo/fhir"
	"contigo/records"
)

// Bulk export runs. A job is run by whoever holds its claim (namespace
// exportClaims, owner a run token unique to one run); the runner records
// its token as the job's owner and every later update of the job is
// conditional on it, so a runner that lost the job stops at its next beat.
// A job whose beat is older than the stale limit is taken over (a new
// attempt from the start) by the replica that answers its next status
// poll; after maxExportAttempts it is marked failed.
const (
	exportClaims      = "export"
	maxExportAttempts = 3
	maxExportRun      = 24 * time.Hour   // bound on one run, added to the expiry of unfinished jobs
	exportBeat        = 2 * time.Second  // how often a runner records progress
	exportStale       = 60 * time.Second // a runner silent this long is presumed dead
	exportChunk       = 256 << 10        // bytes of NDJSON per stored chunk
)

// errExportLost means the job was cancelled or taken over meanwhile.
var errExportLost = errors.New("export job cancelled or taken over")

// bulkRunner runs export jobs in the background of a Server.
type bulkRunner struct {
	s       *Server
	replica string        // this process, in run tokens and logs
	expiry  time.Duration // output kept this long after completion
	stale   time.Duration
	chunk   int
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]bool // jobs running here: avoids starting one twice in a process (the claim decides across processes)
}

func newBulkRunner(s *Server, expiry time.Duration) *bulkRunner {
	if expiry <= 0 {
		expiry = DefaultExportExpiry
	}
	return &bulkRunner{s: s, replica: records.NewID(), expiry: expiry, stale: exportStale, chunk: exportChunk, running: map[string]bool{}}
}

// wait blocks until every run this runner started has ended.
func (b *bulkRunner) wait() { b.wg.Wait() }

// token returns a new run token of this replica.
func (b *bulkRunner) token() string { return b.replica + "." + records.NewID() }

// begin marks job as running here; false if it is already.
func (b *bulkRunner) begin(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running[id] {
		return false
	}
	b.running[id] = true
	return true
}

func (b *bulkRunner) end(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.running, id)
}

// start claims a new job and runs it in the background.
func (b *bulkRunner) start(xs records.ExportStore, cc records.Country, id string) {
	b.background(id, func(ctx context.Context, tok string) (string, error) {
		return b.s.records.Store().Claim(ctx, cc, exportClaims, id, tok)
	}, xs, cc)
}

// recover takes over a job whose runner stopped beating and runs it again.
func (b *bulkRunner) recover(xs records.ExportStore, j records.ExportJob) {
	b.background(j.ID, func(ctx context.Context, tok string) (string, error) {
		st := b.s.records.Store()
		from, err := st.Owner(ctx, j.Country, exportClaims, j.ID)
		if errors.Is(err, records.ErrNotFound) {
			return st.Claim(ctx, j.Country, exportClaims, j.ID, tok)
		}
		if err != nil {
			return "", err
		}
		return st.Takeover(ctx, j.Country, exportClaims, j.ID, from, tok, b.s.now().Add(time.Second))
	}, xs, j.Country)
}

// background runs job id if claim gives this run's token the job.
func (b *bulkRunner) background(id string, claim func(context.Context, string) (string, error), xs records.ExportStore, cc records.Country) {
	if !b.begin(id) {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer b.end(id)
		ctx := context.Background()
		tok := b.token()
		owner, err := claim(ctx, tok)
		if err != nil {
			b.s.log.ErrorContext(ctx, "claim export job", "job", id, "err", err)
			return
		}
		if owner != tok {
			return // another replica runs it
		}
		b.run(ctx, xs, cc, id, tok)
	}()
}

// run runs job id under run token tok, which holds its claim.
func (b *bulkRunner) run(ctx context.Context, xs records.ExportStore, cc records.Country, id, tok string) {
	log := b.s.log
	defer func() {
		if err := b.s.records.Store().Release(ctx, cc, exportClaims, id, tok); err != nil {
			log.WarnContext(ctx, "release export claim", "job", id, "err", err)
		}
	}()
	j, err := xs.Export(ctx, cc, id)
	if err != nil {
		if !errors.Is(err, records.ErrNotFound) {
			log.ErrorContext(ctx, "read export job", "job", id, "err", err)
		}
		return
	}
	if j.Status == records.ExportCompleted || j.Status == records.ExportFailed {
		return
	}
	prev := j.Owner
	now := b.s.now().UTC()
	j.Owner, j.Attempts, j.Beat, j.Persons, j.Outputs = tok, j.Attempts+1, now, 0, nil
	j.Status, j.Transaction = records.ExportRunning, now
	if j.Attempts > maxExportAttempts {
		j.Status, j.Error = records.ExportFailed, fmt.Sprintf("stopped %d times before it completed", maxExportAttempts)
	}
	if err := xs.UpdateExport(ctx, cc, j, prev); err != nil {
		if !errors.Is(err, records.ErrNotFound) {
			log.ErrorContext(ctx, "start export job", "job", id, "err", err)
		}
		return
	}
	if j.Status == records.ExportFailed {
		return
	}
	if err := xs.DeleteExportChunks(ctx, cc, id); err != nil {
		log.WarnContext(ctx, "remove output of an earlier attempt", "job", id, "err", err)
	}
	err = b.write(ctx, xs, &j)
	switch {
	case errors.Is(err, errExportLost):
		b.lost(ctx, xs, cc, id)
		return
	case err != nil:
		log.ErrorContext(ctx, "export job failed", "job", id, "err", err)
		j.Status, j.Error, j.Outputs = records.ExportFailed, "the export could not be written; the server log names the cause under job "+id, nil
	default:
		j.Status = records.ExportCompleted
	}
	j.Beat = b.s.now().UTC()
	j.Expires = j.Beat.Add(b.expiry)
	switch err := xs.UpdateExport(ctx, cc, j, tok); {
	case errors.Is(err, records.ErrNotFound):
		b.lost(ctx, xs, cc, id)
	case err != nil:
		log.ErrorContext(ctx, "finish export job", "job", id, "err", err)
	}
}

// lost cleans up after a run that lost its job: if the job was cancelled
// (it is gone), the output written since the cancel is removed.
func (b *bulkRunner) lost(ctx context.Context, xs records.ExportStore, cc records.Country, id string) {
	if _, err := xs.Export(ctx, cc, id); errors.Is(err, records.ErrNotFound) {
		if err := xs.DeleteExportChunks(ctx, cc, id); err != nil {
			b.s.log.WarnContext(ctx, "remove output of a cancelled export", "job", id, "err", err)
		}
	}
}

// exportOut is one output file being written.
type exportOut struct {
	buf    []byte
	count  int64
	chunks int
}

// write streams every matching record into NDJSON chunks, one record in
// memory at a time, auditing each person disclosed and beating every
// exportBeat. It sets j.Outputs.
func (b *bulkRunner) write(ctx context.Context, xs records.ExportStore, j *records.ExportJob) error {
	outs := map[string]*exportOut{}
	flush := func(typ string, o *exportOut) error {
		if len(o.buf) == 0 {
			return nil
		}
		if err := xs.AppendExportChunk(ctx, j.Country, j.ID, j.Attempts, typ, o.chunks, o.buf); err != nil {
			return err
		}
		o.chunks++
		o.buf = o.buf[:0]
		return nil
	}
	last := b.s.now()
	err := xs.EachPerson(ctx, j.Country, j.Since, func(p *records.Person) error {
		disclosed := false
		for _, r := range p.Latest() {
			if r.Deleted || (len(j.Types) > 0 && !slices.Contains(j.Types, r.Type)) || r.Updated.Before(j.Since) {
				continue
			}
			body, err := fhir.Render(r)
			if err != nil {
				return fmt.Errorf("render %s: %w", r.Type, err)
			}
			o := outs[r.Type]
			if o == nil {
				o = &exportOut{buf: make([]byte, 0, b.chunk+4096)}
				outs[r.Type] = o
			}
			o.buf = append(append(o.buf, body...), '\n')
			o.count++
			disclosed = true
			if len(o.buf) >= b.chunk {
				if err := flush(r.Type, o); err != nil {
					return err
				}
			}
		}
		j.Persons++
		if disclosed {
			b.audit(ctx, j, p.ID)
		}
		if now := b.s.now(); now.Sub(last) >= exportBeat {
			last = now
			j.Beat = now.UTC()
			if err := xs.UpdateExport(ctx, j.Country, *j, j.Owner); err != nil {
				if errors.Is(err, records.ErrNotFound) {
					return errExportLost
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	types := make([]string, 0, len(outs))
	for t := range outs {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		o := outs[t]
		if err := flush(t, o); err != nil {
			return err
		}
		j.Outputs = append(j.Outputs, records.ExportOutput{Type: t, Count: o.count, Chunks: o.chunks})
	}
	return nil
}

// audit records that job j disclosed person id: one entry per person and
// job (its id is made of both, so a restarted attempt does not repeat it),
// so that AuditEvent?patient=id lists the export.
func (b *bulkRunner) audit(ctx context.Context, j *records.ExportJob, id string) {
	e := records.AuditEntry{
		ID: j.ID + "-" + id, Time: b.s.now().UTC(), Actor: j.Requester, Role: j.Role, Country: j.Country,
		Action: "R", Interaction: "export", ResourceType: "Patient", ResourceID: id, PersonID: id,
		Outcome: 200, RequestID: j.ID,
	}
	if err := b.s.records.Store().AppendAudit(ctx, j.Country, e); err != nil && !errors.Is(err, records.ErrConflict) {
		b.s.ops.auditFailures.Inc()
		b.s.log.ErrorContext(ctx, "append export audit entry", "job", j.ID, "err", err)
	}
}

// sweepExports removes the jobs of cc whose output expired, with their
// files. Failures are logged: the next kick-off sweeps again.
func (s *Server) sweepExports(ctx context.Context, xs records.ExportStore, cc records.Country) {
	ids, err := xs.ExpiredExports(ctx, cc, s.now())
	if err != nil {
		s.log.WarnContext(ctx, "list expired exports", "err", err)
		return
	}
	for _, id := range ids {
		if err := xs.DeleteExport(ctx, cc, id); err != nil {
			s.log.WarnContext(ctx, "remove expired export", "job", id, "err", err)
		}
	}
}
