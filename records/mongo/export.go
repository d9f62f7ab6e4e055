package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// exportsColl holds one document per Bulk Data export job, and
// exportFilesColl the NDJSON output of the jobs in chunks of at most a few
// hundred kilobytes (well below the 16 MB document limit), so that any
// replica can serve them. The chunks are plain documents rather than
// GridFS files: the store needs only insert, an ordered find and delete.
const (
	exportsColl     = "exports"
	exportFilesColl = "export_files"
)

// exportDoc is the stored form of a records.ExportJob.
type exportDoc struct {
	ID          string         `bson:"_id"`
	Country     string         `bson:"cc"`
	Level       string         `bson:"level"`
	Types       []string       `bson:"types,omitempty"`
	Since       time.Time      `bson:"since,omitempty"`
	Request     string         `bson:"request"`
	Requester   string         `bson:"requester"`
	Role        string         `bson:"role"`
	Status      string         `bson:"status"`
	Owner       string         `bson:"owner"`
	Attempts    int            `bson:"attempts"`
	Created     time.Time      `bson:"created"`
	Beat        time.Time      `bson:"beat"`
	Transaction time.Time      `bson:"txtime,omitempty"`
	Expires     time.Time      `bson:"expires"`
	Persons     int64          `bson:"persons"`
	Error       string         `bson:"error,omitempty"`
	Outputs     []exportOutDoc `bson:"outputs,omitempty"`
}

type exportOutDoc struct {
	Type   string `bson:"type"`
	Count  int64  `bson:"count"`
	Chunks int    `bson:"chunks"`
}

// exportChunkDoc is one chunk of an output file: whole NDJSON lines.
type exportChunkDoc struct {
	ID   string `bson:"_id"` // job/attempt/type/seq
	Job  string `bson:"job"`
	Att  int    `bson:"att"`
	Type string `bson:"type"`
	Seq  int    `bson:"seq"`
	Data []byte `bson:"data"`
}

func toExportDoc(j records.ExportJob) exportDoc {
	d := exportDoc{ID: j.ID, Country: string(j.Country), Level: j.Level, Types: j.Types, Since: j.Since.UTC(), Request: j.Request,
		Requester: j.Requester, Role: j.Role, Status: j.Status, Owner: j.Owner, Attempts: j.Attempts, Created: j.Created.UTC(), Beat: j.Beat.UTC(),
		Transaction: j.Transaction.UTC(), Expires: j.Expires.UTC(), Persons: j.Persons, Error: j.Error}
	for _, o := range j.Outputs {
		d.Outputs = append(d.Outputs, exportOutDoc(o))
	}
	return d
}

func fromExportDoc(d exportDoc) records.ExportJob {
	j := records.ExportJob{ID: d.ID, Country: records.Country(d.Country), Level: d.Level, Types: d.Types, Since: d.Since.UTC(),
		Request: d.Request, Requester: d.Requester, Role: d.Role, Status: d.Status, Owner: d.Owner, Attempts: d.Attempts, Created: d.Created.UTC(),
		Beat: d.Beat.UTC(), Transaction: d.Transaction.UTC(), Expires: d.Expires.UTC(), Persons: d.Persons, Error: d.Error}
	for _, o := range d.Outputs {
		j.Outputs = append(j.Outputs, records.ExportOutput(o))
	}
	return j
}

// CreateExport stores a new job; ErrConflict if its id exists (a
// single-document insert with a unique _id succeeds once:
// https://www.mongodb.com/docs/manual/core/index-unique/).
func (s *Store) CreateExport(ctx context.Context, cc records.Country, j records.ExportJob) (err error) {
	defer s.observe("export_create", time.Now(), &err)
	if _, err := s.coll(cc, exportsColl).InsertOne(ctx, toExportDoc(j)); err != nil {
		return fmt.Errorf("create export %s: %w", j.ID, mapErr(err))
	}
	return nil
}

// Export returns a job; ErrNotFound if none.
func (s *Store) Export(ctx context.Context, cc records.Country, id string) (_ records.ExportJob, err error) {
	defer s.observe("export", time.Now(), &err)
	var d exportDoc
	if err := s.coll(cc, exportsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return records.ExportJob{}, fmt.Errorf("read export %s: %w", id, mapErr(err))
	}
	return fromExportDoc(d), nil
}

// UpdateExport replaces job j if its stored owner is owner; ErrNotFound
// otherwise. A single-document replace with a filter is atomic
// (https://www.mongodb.com/docs/manual/core/write-operations-atomicity/),
// so a runner that lost the job cannot overwrite its new runner's state.
func (s *Store) UpdateExport(ctx context.Context, cc records.Country, j records.ExportJob, owner string) (err error) {
	defer s.observe("export_update", time.Now(), &err)
	res, err := s.coll(cc, exportsColl).ReplaceOne(ctx, bson.D{{Key: "_id", Value: j.ID}, {Key: "owner", Value: owner}}, toExportDoc(j))
	if err != nil {
		return fmt.Errorf("update export %s: %w", j.ID, mapErr(err))
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("update export %s: gone or taken over: %w", j.ID, records.ErrNotFound)
	}
	return nil
}

// DeleteExport removes a job and its output; no error if absent.
func (s *Store) DeleteExport(ctx context.Context, cc records.Country, id string) (err error) {
	defer s.observe("export_delete", time.Now(), &err)
	if _, err := s.coll(cc, exportsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("delete export %s: %w", id, mapErr(err))
	}
	return s.DeleteExportChunks(ctx, cc, id)
}

// ExpiredExports returns the ids of jobs whose output expired before t.
// The expiry is compared in Go: there are few jobs.
func (s *Store) ExpiredExports(ctx context.Context, cc records.Country, t time.Time) (_ []string, err error) {
	defer s.observe("export_expired", time.Now(), &err)
	cur, err := s.coll(cc, exportsColl).Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "expires", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list exports: %w", mapErr(err))
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var ids []string
	for cur.Next(ctx) {
		var d struct {
			ID      string    `bson:"_id"`
			Expires time.Time `bson:"expires"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("decode export: %w", err)
		}
		if d.Expires.Before(t) {
			ids = append(ids, d.ID)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("list exports: %w", mapErr(err))
	}
	return ids, nil
}

// AppendExportChunk stores chunk seq of output typ of a job. Writing the
// same chunk twice (a retried insert) keeps the first.
func (s *Store) AppendExportChunk(ctx context.Context, cc records.Country, job string, attempt int, typ string, seq int, data []byte) (err error) {
	defer s.observe("export_chunk", time.Now(), &err)
	d := exportChunkDoc{ID: fmt.Sprintf("%s/%d/%s/%d", job, attempt, typ, seq), Job: job, Att: attempt, Type: typ, Seq: seq, Data: data}
	if _, err := s.coll(cc, exportFilesColl).InsertOne(ctx, d); err != nil {
		if err = mapErr(err); errors.Is(err, records.ErrConflict) {
			return nil
		}
		return fmt.Errorf("store export chunk: %w", err)
	}
	return nil
}

// DeleteExportChunks removes every chunk of a job.
func (s *Store) DeleteExportChunks(ctx context.Context, cc records.Country, job string) (err error) {
	defer s.observe("export_chunks_delete", time.Now(), &err)
	if _, err := s.coll(cc, exportFilesColl).DeleteMany(ctx, bson.D{{Key: "job", Value: job}}); err != nil {
		return fmt.Errorf("delete export %s output: %w", job, mapErr(err))
	}
	return nil
}

// EachExportChunk calls fn with the chunks of one output in order, reading
// them one at a time through a cursor.
func (s *Store) EachExportChunk(ctx context.Context, cc records.Country, job string, attempt int, typ string, fn func([]byte) error) (err error) {
	defer s.observe("export_chunks", time.Now(), &err)
	filter := bson.D{{Key: "job", Value: job}, {Key: "att", Value: attempt}, {Key: "type", Value: typ}}
	cur, err := s.coll(cc, exportFilesColl).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetBatchSize(4))
	if err != nil {
		return fmt.Errorf("read export output: %w", mapErr(err))
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d exportChunkDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decode export chunk: %w", err)
		}
		if err := fn(d.Data); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read export output: %w", mapErr(err))
	}
	return nil
}

// EachPerson calls fn with every record whose last change is at or after
// since (every record if zero), reading the heads through a cursor and
// each record on its own without adding it to the record cache, so memory
// does not grow with the country.
func (s *Store) EachPerson(ctx context.Context, cc records.Country, since time.Time, fn func(*records.Person) error) (err error) {
	defer s.observe("each_person", time.Now(), &err)
	cur, err := s.coll(cc, personsColl).Find(ctx, bson.D{}, options.Find().
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "updated", Value: 1}}).SetBatchSize(500))
	if err != nil {
		return fmt.Errorf("list records: %w", mapErr(err))
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var h struct {
			ID      string    `bson:"_id"`
			Updated time.Time `bson:"updated"`
		}
		if err := cur.Decode(&h); err != nil {
			return fmt.Errorf("decode head: %w", err)
		}
		if !since.IsZero() && h.Updated.Before(since) {
			continue
		}
		p, err := s.person(ctx, cc, h.ID, false) // not cached: a pass over the country would fill the cache
		if errors.Is(err, records.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return fmt.Errorf("read record: %w", err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("list records: %w", mapErr(err))
	}
	return nil
}
