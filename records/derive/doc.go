// Package derive is what happens when a measurement is recorded.
//
// A health worker's visit (say a weight, a length and a MUAC, posted as a
// transaction Bundle) travels down once, each package passed once:
//
//  1. api turns the HTTP request into FHIR resources (fhir.Parse: shape,
//     units, search keys) and one records.Write.
//  2. records.Service.Write reads the child's record as of its latest
//     commit, applies the write's changes to a copy and calls this
//     package's Hook.OnWrite with the record before and after.
//  3. OnWrite (derive.go) decides whether the write touches what the
//     nutrition engine reads (measurement Observations, the Patient,
//     interventions, or a Command such as an admission); if not, it does
//     nothing. Otherwise it reads the child's visits from the record
//     through the FHIR mapping (fhir.ReadVisits: one Measurement per
//     visit), validates the touched ones, and runs records/nutrition:
//     Assess (age, z-scores and classification, from growth) and Apply
//     (alerts, episodes of care, follow-up dates) for a new visit, or
//     Reassess of the whole history after a correction or deletion.
//  4. It stores the new nutrition state in the record and maps back to
//     FHIR (fhir.DeriveSince or fhir.Derive): z-score Observations,
//     Conditions, alert Flags and EpisodeOfCare resources, rendering only
//     those whose inputs changed when the write did not touch an earlier
//     visit, so that the 300th visit of a child costs what the first did.
//  5. records.Service commits the visit, the derived resources and the
//     state as one commit document (records.Store.Append): visible
//     together or not at all, on every engine, after any crash.
//  6. The store (records/mongo) then brings the derived documents up to
//     the commit: the person's head for search, and the nutrition
//     projection that the sector-lead lists (alerts, indicators, the
//     follow-up scan) read.
//
// derive imports fhir (the mapping), records and records/nutrition; nothing
// below api imports it but the service's hook, which api installs
// (records.ServiceOptions.OnWrite).
package derive
