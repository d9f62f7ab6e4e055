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
// The stored document types are private (personDoc and friends): their bson
// tags are a persistence contract. This package never imports api or fhir.
package mongo
