// Package fhirtest checks FHIR JSON in tests against the official FHIR R4
// JSON Schema (fhir.schema.json, embedded; see README.md for its origin).
package fhirtest
