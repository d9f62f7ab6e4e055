// Package records is Contigo's domain: a person's longitudinal record (every
// version of every FHIR resource about that person, kept as JSON together in
// one document), the write path that changes a record atomically with
// optimistic concurrency, search queries, audit entries, error kinds, and the
// Store interface that storage adapters (records/mongo) implement.
//
// records never parses FHIR: the fhir package turns JSON into Resources with
// their search Keys, and back. Everything about one person lives in one
// Person value so that a write (a visit with its measurements and the alert
// they raise) is a single atomic document update on any MongoDB engine.
package records
