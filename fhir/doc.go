// Package fhir is Contigo's FHIR R4 face: it turns FHIR JSON into
// records.Resource values with their search Keys (Parse), and back (Render);
// it parses search parameters into records.Query (ParseSearch), builds and
// parses Bundles (searchset, history, $everything, batch and transaction),
// writes OperationOutcomes and the CapabilityStatement.
//
// It holds no HTTP and no database: it must not import api, Echo, net/http or
// records/mongo. samply's generated R4 types are imported as r4, so that
// fhir.X is always ours.
//
// # Errors
//
// Parse and ParseBundle return *records.FieldError values whose Field is a
// FHIRPath expression ("Observation.valueQuantity.unit",
// "Bundle.entry[3].resource.subject"). Kinds:
//
//   - JSON that does not parse, is not an object, or holds a value of the
//     wrong JSON type (a number where a string belongs): records.ErrMalformed
//     (400);
//   - everything else (unknown resourceType or element, unknown code, a
//     primitive value that breaks its type's pattern in the R4 JSON Schema,
//     missing required element, bad reference, unit or date):
//     records.ErrInvalid (422).
//
// Structure is checked against samply's generated types (which elements
// exist, which are required, choice elements [x]) and primitive values
// against the patterns of the official R4 JSON Schema (schema_gen.go,
// generated from fhirtest/fhir.schema.json.gz by internal/schemagen), so
// that whatever Parse accepts renders as schema-valid FHIR.
//
// ParseSearch returns FieldErrors of kind records.ErrMalformed (400) whose
// Field is the parameter name.
//
// # Stored form
//
// Resource.Body is the canonical JSON of the resource without id,
// meta.versionId and meta.lastUpdated; Render injects those from the
// Resource's ID, Version and Updated. Bodies never contain "contained"
// resources or primitive extensions ("_birthDate"): Parse rejects them as
// unknown elements.
//
// # Keys
//
// Keys (see records.Keys) are normalised so that every search is a string
// comparison (records.Op):
//
//   - token parameters (identifier, code, category) hold "system|code" (or
//     "|code" when the coding has no system) under the parameter name, and the
//     bare code under "<name>:code" (e.g. "code:code"), so that code=sys|c,
//     code=|c and code=c are each one equality;
//   - name, family, given hold the lower-case, accent-free whole value and
//     each of its words, searched by prefix ("jose" finds "José");
//   - dates hold the date as given when it has no time (YYYY, YYYY-MM,
//     YYYY-MM-DD) and a UTC instant in TimeFormat when it has one; these sort
//     correctly as strings;
//   - "family:sort", "given:sort" and "name:sort" hold one value each (the
//     first HumanName), for _sort;
//   - subject holds "Patient/<id>"; status and gender the code.
package fhir

//go:generate go run ./internal/schemagen
