package federation

import (
	"math"
	"strings"

	"contigo/records/namekey"
)

// Grade is the FHIR match-grade of a candidate
// (http://hl7.org/fhir/StructureDefinition/match-grade): certain, probable,
// possible, or empty when the candidate is not worth showing.
type Grade string

// Grades, strongest first. certain-other ("certainly not") is never given.
const (
	Certain  Grade = "certain"
	Probable Grade = "probable"
	Possible Grade = "possible"
)

// Match is how well a candidate fits a query.
type Match struct {
	Score    float64    // the probability that both are one person, in [0, 1]; 1 for an identifier match
	Grade    Grade      // "" below Possible
	Weight   float64    // the summed log2 likelihood ratio behind Score; +Inf for an identifier match
	Evidence []Evidence // one per field compared, and the rules that fired
	Reasons  []string   // Evidence as "field:level", e.g. "given:exact", "birthdate:swapped"; never personal data
}

// Evidence is what one field contributed: its agreement level and the
// weight (log2 m/u) that level carries. Field "rule" names a rule that
// decided the grade (Level "twins", "siblings", "mother", "second" or
// "ambiguous"), with weight 0.
type Evidence struct {
	Field  string  // given, family, birthdate, sex, birthplace, nationality, mother, identifier, rule
	Level  string  // e.g. exact, typo, phonetic, subset, partial, differ, swapped, near, year
	Weight float64 // log2(m/u) of the level, from weights.json
}

// Score says how well candidate fits query.
//
// Any identifier ("system|value") the two share makes the candidate
// certain. Otherwise each field present on both sides is compared and its
// agreement level adds its weight, log2(m/u), where m and u are the
// probabilities of that level among true matches and among non-matches
// (Fellegi-Sunter), estimated by EM on candidate pairs (Estimate,
// weights.json). Score is then the probability of a match:
//
//	Score = 1 / (1 + (1-p)/p * 2^-Weight)
//
// with p the share of true matches among candidate pairs. The grade
// follows Weight against the thresholds in weights.json, with two rules:
//
//   - twins: the same full birth date and the same mother but given names
//     that differ are two people (no grade);
//   - siblings: the same mother but given names that share no word, or
//     birth dates that differ, are two people (no grade);
//   - mother: mothers' names that share no word make the candidate at
//     most possible (a namesake);
//   - certain without an identifier also needs the given names and two or
//     more surnames to agree (exactly, by a typo or by sound), the full
//     birth date to agree exactly, and the sex and the mother's name not to
//     disagree: records are linked on certain, so it must not be a guess.
func Score(query, candidate Person) Match {
	q, c := prepare(query), prepare(candidate)
	return scorePrepared(&q, &c)
}

// prepared is a Person normalised for scoring.
type prepared struct {
	ids         []string
	given       []string
	family      []string
	mother      []string
	date        date
	sex         string
	place       string
	nationality []string
}

func prepare(p Person) prepared {
	out := prepared{ids: p.Identifiers, date: parseDate(p.BirthDate), place: strings.Join(tokens(p.BirthPlace), " ")}
	for _, n := range p.Names {
		out.given = appendNew(out.given, tokensOf(n.Given)...)
		out.family = appendNew(out.family, tokensOf(n.Family)...)
	}
	out.mother = appendNew(tokensOf(p.Mother.Given), tokensOf(p.Mother.Family)...)
	switch p.Sex {
	case "male", "female":
		out.sex = p.Sex
	}
	for _, n := range p.Nationality {
		out.nationality = appendNew(out.nationality, strings.Join(tokens(n), " "))
	}
	return out
}

func appendNew(dst []string, ws ...string) []string {
	for _, w := range ws {
		dup := false
		for _, d := range dst {
			if d == w {
				dup = true
				break
			}
		}
		if !dup && w != "" {
			dst = append(dst, w)
		}
	}
	return dst
}

// compare returns the agreement level of each field present on both
// sides, in a fixed field order.
func compare(q, c *prepared) []Evidence {
	var ev []Evidence
	add := func(field, level string) { ev = append(ev, Evidence{Field: field, Level: level}) }
	switch {
	case shareAny(q.ids, c.ids):
		add("identifier", "agree")
	case idConflict(q.ids, c.ids):
		add("identifier", "conflict")
	}
	if l := compareTokens(q.given, c.given).level(false); l != "" {
		add("given", l)
	}
	if l := compareTokens(q.family, c.family).level(true); l != "" {
		add("family", l)
	}
	if l := compareDates(q.date, c.date); l != "" {
		add("birthdate", l)
	}
	if q.sex != "" && c.sex != "" {
		add("sex", agreeOrDiffer(q.sex == c.sex))
	}
	if q.place != "" && c.place != "" {
		add("birthplace", agreeOrDiffer(q.place == c.place))
	}
	if len(q.nationality) > 0 && len(c.nationality) > 0 {
		add("nationality", agreeOrDiffer(shareAny(q.nationality, c.nationality)))
	}
	switch r := compareTokens(q.mother, c.mother); r.outcome {
	case tokExact, tokFuzzy:
		add("mother", "agree")
	case tokSubset:
		add("mother", "subset")
	case tokPartial:
		add("mother", "partial")
	case tokNone:
		add("mother", "differ")
	}
	return ev
}

func agreeOrDiffer(ok bool) string {
	if ok {
		return "agree"
	}
	return "differ"
}

func scorePrepared(q, c *prepared) Match {
	ev := compare(q, c)
	if len(ev) > 0 && ev[0].Field == "identifier" && ev[0].Level == "agree" {
		ev[0].Weight = weights.Weight("identifier:agree")
		return Match{Score: 1, Grade: Certain, Weight: math.Inf(1), Evidence: ev[:1], Reasons: []string{"identifier"}}
	}
	var m Match
	level := map[string]string{}
	for i := range ev {
		ev[i].Weight = weights.Weight(ev[i].Field + ":" + ev[i].Level)
		m.Weight += ev[i].Weight
		level[ev[i].Field] = ev[i].Level
	}
	m.Score = weights.Posterior(m.Weight)
	strongName := func(l string) bool { return l == "exact" || l == "typo" || l == "phonetic" }
	rule := ruleOf(level)
	if rule != "" {
		m.Score = weights.Rules[rule]
	}
	switch {
	case rule == ruleTwins || rule == ruleSiblings:
		ev = append(ev, Evidence{Field: "rule", Level: rule})
	case rule == ruleMother:
		ev = append(ev, Evidence{Field: "rule", Level: rule})
		if m.Weight >= weights.Possible {
			m.Grade = Possible
		}
	case m.Weight >= weights.Certain && strongName(level["given"]) &&
		(level["family"] == "exact2" || level["family"] == "typo2") && level["birthdate"] == "exact" &&
		level["sex"] != "differ" && level["mother"] != "differ" && level["mother"] != "partial" &&
		level["identifier"] != "conflict":
		m.Grade = Certain
	case m.Weight >= weights.Probable:
		m.Grade = Probable
	case m.Weight >= weights.Possible:
		m.Grade = Possible
	}
	m.Evidence = ev
	m.Reasons = reasonsOf(ev)
	return m
}

func reasonsOf(ev []Evidence) []string {
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = e.Field + ":" + e.Level
	}
	return out
}

// idConflict reports whether a and b hold an identifier of the same system
// with different values (twins have different document numbers).
func idConflict(a, b []string) bool {
	for _, x := range a {
		sx, vx, _ := strings.Cut(x, "|")
		if sx == "" {
			continue
		}
		for _, y := range b {
			if sy, vy, _ := strings.Cut(y, "|"); sy == sx && vy != vx {
				return true
			}
		}
	}
	return false
}

func shareAny(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// tokOutcome is how two sets of name tokens compare.
type tokOutcome int

const (
	tokMissing tokOutcome = iota // one side has no tokens
	tokExact                     // every token paired with an equal one
	tokFuzzy                     // every token paired, some only by sound or Jaro-Winkler
	tokSubset                    // the smaller side is fully paired, the larger has extra tokens
	tokPartial                   // some pairs, but both sides have unpaired tokens
	tokNone                      // no token paired
)

type tokResult struct {
	outcome tokOutcome
	paired  int
	typo    int // pairs made only by Jaro-Winkler (not equal, not the same sound)
}

// level names the outcome as an agreement level; surnames (family) tell
// one paired surname from two or more.
func (r tokResult) level(family bool) string {
	n := ""
	if family {
		n = "1"
		if r.paired >= 2 {
			n = "2"
		}
	}
	switch r.outcome {
	case tokExact:
		return "exact" + n
	case tokFuzzy:
		if r.typo == 0 && !family {
			return "phonetic"
		}
		return "typo" + n
	case tokSubset:
		return "subset"
	case tokPartial:
		return "partial"
	case tokNone:
		return "differ"
	}
	return ""
}

// pairThreshold is the Jaro-Winkler similarity from which two name tokens
// are taken as the same word with a typo: "perez"/"peres" is 0.92,
// "garcia"/"gracia" 0.96, "ana"/"ada" 0.80.
const pairThreshold = 0.9

// compareTokens pairs the tokens of a and b, each at most once, in any
// order: equal tokens first, then tokens with the same phonetic code
// (namekey.Phonetic), then the most similar by Jaro-Winkler above
// pairThreshold. Order does not matter, so swapped surnames still agree.
func compareTokens(a, b []string) tokResult {
	if len(a) == 0 || len(b) == 0 {
		return tokResult{outcome: tokMissing}
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	var usedA, usedB [16]bool
	if len(b) > len(usedB) {
		a, b = a[:min(len(a), 16)], b[:16]
	}
	exact, fuzzy, typo := 0, 0, 0
	for i, x := range a {
		for j, y := range b {
			if !usedB[j] && x == y {
				usedA[i], usedB[j] = true, true
				exact++
				break
			}
		}
	}
	if exact < len(a) {
		for i, x := range a {
			if usedA[i] {
				continue
			}
			cx := namekey.Phonetic(x)
			for j, y := range b {
				if !usedB[j] && cx != "" && cx == namekey.Phonetic(y) {
					usedA[i], usedB[j] = true, true
					fuzzy++
					break
				}
			}
		}
	}
	for i, x := range a {
		if usedA[i] {
			continue
		}
		best, bj := pairThreshold, -1
		for j, y := range b {
			if usedB[j] {
				continue
			}
			if s := jaroWinkler(x, y); s >= best {
				best, bj = s, j
			}
		}
		if bj >= 0 {
			usedA[i], usedB[bj] = true, true
			fuzzy++
			typo++
		}
	}
	paired := exact + fuzzy
	r := tokResult{paired: paired, typo: typo}
	switch {
	case paired == 0:
		r.outcome = tokNone
	case paired < len(a):
		r.outcome = tokPartial
	case paired < len(b):
		r.outcome = tokSubset
	case fuzzy > 0:
		r.outcome = tokFuzzy
	default:
		r.outcome = tokExact
	}
	return r
}
