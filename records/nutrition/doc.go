// Package nutrition is Contigo's nutrition domain engine: it validates a
// measurement (docs/nutrition-rules.md §6), assesses it (age, z-scores from
// growth, classification by age band or for pregnant and lactating women,
// implausible flags), and applies the alert and episode-of-care rules of §7
// and §8 to one person's nutrition State. It also computes the sector-lead
// indicators of §8 over many States.
//
// The package is pure and deterministic: plain domain types in, decisions
// out, the clock passed in as a time.Time, no I/O besides loading rule-set
// files, no logging, no global state. One write of a person's record is one
// call: Validate, then Assess, then Apply (or Reassess after a correction or
// deletion); the caller stores the returned State with the record in the
// same atomic write and turns the returned Events into FHIR Flags,
// EpisodeOfCare and metrics.
//
// Thresholds live in a RuleSet (per country, loaded from JSON, defaulting to
// "who-2023"). Every Assessment and Alert names the rule set, version and
// country that produced it; a stored Assessment is never rewritten because
// the configuration changed.
//
// nutrition imports growth and records (for the error kinds); it must not
// import fhir, api, any storage adapter or third-party module.
package nutrition
