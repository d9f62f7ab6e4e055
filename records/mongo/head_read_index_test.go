package mongo

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"contigo/records"
)

// TestCurrentPatientFromIndex: on the embedded engine, once the Patient
// index is loaded, CurrentPatient answers from it (here with the stored
// head gone by hand, which the head path could not answer), and answers
// nothing as soon as a commit after the indexed version exists, so that
// the caller reads the record.
func TestCurrentPatientFromIndex(t *testing.T) {
	ctx := context.Background()
	s := exclusiveStore(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	pt := records.Resource{Type: "Patient", ID: "ix1", Version: 1, Updated: at,
		Body: []byte(`{"resourceType":"Patient","id":"ix1"}`), Keys: records.Keys{"family": {"indice"}}}
	if err := s.Insert(ctx, "CO", &records.Person{ID: "ix1", Country: "CO", Version: 1, Created: at, Updated: at, Resources: []records.Resource{pt}}); err != nil {
		t.Fatal(err)
	}
	if err := s.loadPatients(ctx, "CO"); err != nil {
		t.Fatal(err)
	}
	s.cache.drop()
	if _, err := s.coll("CO", personsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: "ix1"}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.CurrentPatient(ctx, "CO", "ix1")
	if err != nil || !ok || got.ID != "ix1" || string(got.Body) != string(pt.Body) {
		t.Fatalf("from the index: %+v, ok %v, err %v", got, ok, err)
	}
	if _, err := s.coll("CO", commitsColl).InsertOne(ctx, bson.D{{Key: "_id", Value: commitID("ix1", 2)}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.CurrentPatient(ctx, "CO", "ix1"); ok || err != nil {
		t.Fatalf("with commit 2 in the log: ok %v, err %v, want the record read", ok, err)
	}
}
