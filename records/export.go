package records

import (
	"context"
	"time"
)

// Export job states.
const (
	ExportAccepted  = "accepted"  // kicked off, no replica has started it yet
	ExportRunning   = "running"   // a replica holds its claim and writes output
	ExportCompleted = "completed" // the manifest is final
	ExportFailed    = "failed"    // gave up; Error says why
)

// ExportJob is one FHIR Bulk Data $export request and its progress. It is
// stored in the database, so that any replica can answer its status, serve
// its files, and take it over when the replica that ran it stops.
type ExportJob struct {
	ID          string
	Country     Country
	Level       string    // "system", "patient" or "group/<id>"
	Types       []string  // _type; empty means every type
	Since       time.Time // _since; zero means all
	Request     string    // the kick-off URL, for the manifest
	Requester   string    // token subject of who kicked it off
	Role        string    // the requester's role, for the audit entries
	Status      string    // one of the Export* states
	Owner       string    // the replica running it ("" when not running)
	Attempts    int       // how many times a replica started it
	Created     time.Time // kick-off time
	Beat        time.Time // last progress of the runner: a stale beat means it stopped
	Transaction time.Time // transactionTime of the manifest: when the run started
	Expires     time.Time // output is removed after this time
	Persons     int64     // persons read so far
	Error       string    // why it failed; no personal data
	Outputs     []ExportOutput
}

// ExportOutput is one NDJSON file of a job: the resources of one type.
type ExportOutput struct {
	Type   string
	Count  int64 // resources (lines)
	Chunks int   // stored chunks, numbered from 0
}

// ExportStore keeps export jobs and their output in the database, and reads
// records one at a time. Implementations: records/mongo.
type ExportStore interface {
	// CreateExport stores a new job; ErrConflict if its id exists.
	CreateExport(ctx context.Context, cc Country, j ExportJob) error
	// Export returns a job; ErrNotFound if none.
	Export(ctx context.Context, cc Country, id string) (ExportJob, error)
	// UpdateExport replaces job j if its stored owner is owner: a runner
	// that lost the job to another replica gets ErrNotFound and stops.
	UpdateExport(ctx context.Context, cc Country, j ExportJob, owner string) error
	// DeleteExport removes a job and all its output; no error if absent.
	DeleteExport(ctx context.Context, cc Country, id string) error
	// ExpiredExports returns the ids of jobs whose output expired before t.
	ExpiredExports(ctx context.Context, cc Country, t time.Time) ([]string, error)
	// AppendExportChunk stores chunk seq of the output of type typ written
	// by run attempt of a job. Chunks are kept per attempt, so that a late
	// write of a runner that lost the job never mixes into its new run.
	AppendExportChunk(ctx context.Context, cc Country, job string, attempt int, typ string, seq int, data []byte) error
	// DeleteExportChunks removes every chunk of a job.
	DeleteExportChunks(ctx context.Context, cc Country, job string) error
	// EachExportChunk calls fn with the chunks of one output in order.
	EachExportChunk(ctx context.Context, cc Country, job string, attempt int, typ string, fn func([]byte) error) error
	// EachPerson calls fn with every record changed at or after since (all
	// if zero), one at a time through a database cursor, until fn fails.
	EachPerson(ctx context.Context, cc Country, since time.Time, fn func(*Person) error) error
}
