// Package namekey holds the derived keys of names and birth dates that
// find a person's earlier records by equality (blocking keys): a phonetic
// code for Spanish and Portuguese words, the surname pair, the birth year.
// The fhir package writes them into a Patient's records.Keys and the
// federation package searches on them, so both compute them here.
//
// It imports only the standard library and golang.org/x/text.
package namekey
