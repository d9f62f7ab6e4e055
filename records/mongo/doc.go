// Package mongo stores Contigo's person records in MongoDB through the
// official Go driver (go.mongodb.org/mongo-driver/v2): one database per hosted
// country, one document per person, a claims collection keyed by _id for
// unique identifiers, and an insert-only audit collection.
//
// With no URI configured, Open starts an embedded MongoDB-wire server in the
// process (FerretDB v1.24 on SQLite) and talks to it through the same driver.
// The embedded engine hands only {_id: value} filters to SQLite and evaluates
// every other filter in Go over the whole collection, so this package keeps
// every hot path (read a record, compare-and-swap it, claim an identifier) an
// _id-only operation there, and adds the SQLite expression index that makes
// those lookups use an index (see ARCHITECTURE.md, Storage).
//
// Measured on the embedded engine at 100,000 persons (BenchmarkStore, 2
// shared cores): a record read by id in 1-4 ms with the SQLite index and
// 3.8 s without; a lookup by identifier (claims) 2-6 ms against 12.8 s;
// $everything of a 100-entry record 25-50 ms against 12 s; a visit (one
// Encounter and four Observations) written in 7-60 ms against 14.7 s.
// Searches by anything but _id stay full scans there (0.5-1.5 s per page at
// 1,000 persons): the embedded engine is for small nodes, MongoDB for a
// country.
//
// The stored document types are private (personDoc and friends): their bson
// tags are a persistence contract. This package never imports api or fhir.
package mongo
