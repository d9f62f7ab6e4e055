// Package records is Contigo's domain: a person's longitudinal record (every
// version of every FHIR resource about that person, as an append-only log of
// commits), the write path that changes a record atomically with optimistic
// concurrency, search queries, audit entries, error kinds, and the Store
// interface that storage adapters (records/mongo) implement.
//
// records never parses FHIR: the fhir package turns JSON into Resources with
// their search Keys, and back. A write (a visit with its measurements and
// what the nutrition engine derives from them, see records/derive) is one
// commit: visible whole or not at all on any MongoDB engine.
package records
