// Package api is Contigo's HTTP face: an Echo server with the FHIR R4 REST
// API at /fhir (and /countries/{cc}/fhir for a node hosting several
// countries), bearer-token authentication, per-role and per-country
// authorisation, audit of every read and write, health and readiness probes
// and Prometheus metrics.
//
// Handlers translate HTTP to calls on records.Service and back through the
// fhir package; they return errors, and one Echo HTTPErrorHandler turns every
// error into an OperationOutcome with the right status.
//
// api must not import records/mongo or the MongoDB driver: cmd/contigo wires
// the concrete store.
package api
