package federation

import (
	"math"
	"strings"
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
	Score   float64  // in [0, 1], for Bundle.entry.search.score; 1 for an identifier match
	Grade   Grade    // "" below Possible
	Weight  float64  // the summed log2 likelihood ratio behind Score; +Inf for an identifier match
	Reasons []string // what agreed or disagreed, e.g. "given:exact", "birthdate:swapped"; never personal data
}

// Thresholds on Match.Weight, chosen by measurement on the labelled
// synthetic set in synth_test.go (see docs/federation.md and
// TestMatchQuality, which fails if they stop holding).
const (
	// WeightCertain is the weight above which a candidate without a shared
	// identifier may be certain, and only if every field agrees exactly as
	// well (see Score).
	WeightCertain = 22.0
	// WeightProbable is the weight from which a candidate is probable.
	WeightProbable = 11.0
	// WeightPossible is the weight from which a candidate is shown at all.
	WeightPossible = 5.0
)

// Field weights: log2 of m/u, the probability of the outcome among true
// matches over that among non-matches, estimated for migrant children under
// five whose records were written by different registries and rounded. A
// non-match here is the hard case, a person already sharing a surname or a
// birth year (blocking does the rest).
const (
	wGivenExact, wGivenFuzzy, wGivenSubset, wGivenPartial, wGivenNone = 7.0, 5.5, 3.5, -10.0, -8.0
	wFamilyExact2, wFamilyExact1, wFamilyFuzzyLoss                    = 6.0, 3.5, 1.5
	wFamilySubset, wFamilyPartial, wFamilyNone                        = 3.0, -2.0, -7.0

	wDateExact, wDateSwapped, wDateNear, wDateTypo = 6.0, 3.5, 3.0, 2.5
	wDateYearOnly, wDateMonthOnly                  = 1.5, 2.5
	wDateSameYear, wDateOtherYear                  = -4.0, -7.0

	wSexAgree, wSexDiffer       = 1.0, -6.0
	wPlaceAgree, wPlaceDiffer   = 1.0, -1.5
	wNatAgree, wNatDiffer       = 0.5, -1.0
	wMotherExact, wMotherSubset = 4.0, 2.5
	wMotherPartial, wMotherNone = -1.0, -4.0
	wIDConflict                 = -5.0
)

// pairThreshold is the Jaro-Winkler similarity from which two name tokens
// are taken as the same word with a typo: "perez"/"peres" is 0.92,
// "garcia"/"gracia" 0.96, "ana"/"ada" 0.80.
const pairThreshold = 0.9

// Score says how well candidate fits query.
//
// Any identifier ("system|value") the two share makes the candidate
// certain. Otherwise each field adds a weight (Fellegi-Sunter): given
// names, surnames, birth date, sex, birthplace, nationality, the mother's
// name, and a penalty when both have an identifier of the same system with
// different values. A field missing on either side adds nothing. The grade
// follows the total weight, except that without a shared identifier
// certain also needs the given names, two or more surnames and the full
// birth date to agree exactly, and the sex and the mother's name not to
// disagree: records are never linked silently below certain, so certain
// must not be a guess.
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

func scorePrepared(q, c *prepared) Match {
	for _, a := range q.ids {
		for _, b := range c.ids {
			if a == b {
				return Match{Score: 1, Grade: Certain, Weight: math.Inf(1), Reasons: []string{"identifier"}}
			}
		}
	}
	var m Match
	add := func(w float64, reason string) {
		m.Weight += w
		m.Reasons = append(m.Reasons, reason)
	}
	if idConflict(q.ids, c.ids) {
		add(wIDConflict, "identifier:conflict")
	}

	given := compareTokens(q.given, c.given)
	switch given.outcome {
	case tokExact:
		add(wGivenExact, "given:exact")
	case tokFuzzy:
		add(wGivenFuzzy, "given:typo")
	case tokSubset:
		add(wGivenSubset, "given:subset")
	case tokPartial:
		add(wGivenPartial, "given:partial")
	case tokNone:
		add(wGivenNone, "given:differ")
	}

	family := compareTokens(q.family, c.family)
	switch family.outcome {
	case tokExact, tokFuzzy:
		w := wFamilyExact1
		if family.paired >= 2 {
			w = wFamilyExact2
		}
		reason := "family:exact"
		if family.outcome == tokFuzzy {
			w -= wFamilyFuzzyLoss
			reason = "family:typo"
		}
		add(w, reason)
	case tokSubset:
		add(wFamilySubset, "family:subset")
	case tokPartial:
		add(wFamilyPartial, "family:partial")
	case tokNone:
		add(wFamilyNone, "family:differ")
	}

	dateW, dateReason := compareDates(q.date, c.date)
	if dateReason != "" {
		add(dateW, dateReason)
	}

	sexOK := true
	if q.sex != "" && c.sex != "" {
		if q.sex == c.sex {
			add(wSexAgree, "sex:agree")
		} else {
			sexOK = false
			add(wSexDiffer, "sex:differ")
		}
	}
	if q.place != "" && c.place != "" {
		if q.place == c.place {
			add(wPlaceAgree, "birthplace:agree")
		} else {
			add(wPlaceDiffer, "birthplace:differ")
		}
	}
	if len(q.nationality) > 0 && len(c.nationality) > 0 {
		if shareAny(q.nationality, c.nationality) {
			add(wNatAgree, "nationality:agree")
		} else {
			add(wNatDiffer, "nationality:differ")
		}
	}
	motherOK := true
	switch compareTokens(q.mother, c.mother).outcome {
	case tokExact, tokFuzzy:
		add(wMotherExact, "mother:agree")
	case tokSubset:
		add(wMotherSubset, "mother:subset")
	case tokPartial:
		motherOK = false
		add(wMotherPartial, "mother:partial")
	case tokNone:
		motherOK = false
		add(wMotherNone, "mother:differ")
	}

	m.Score = 1 / (1 + math.Exp2(-(m.Weight-WeightProbable)/2))
	switch {
	case m.Weight >= WeightCertain && given.outcome == tokExact && family.outcome == tokExact &&
		family.paired >= 2 && dateReason == "birthdate:exact" && sexOK && motherOK:
		m.Grade = Certain
	case m.Weight >= WeightProbable:
		m.Grade = Probable
	case m.Weight >= WeightPossible:
		m.Grade = Possible
	}
	return m
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
	tokFuzzy                     // every token paired, some only by Jaro-Winkler
	tokSubset                    // the smaller side is fully paired, the larger has extra tokens
	tokPartial                   // some pairs, but both sides have unpaired tokens
	tokNone                      // no token paired
)

type tokResult struct {
	outcome tokOutcome
	paired  int
}

// compareTokens pairs the tokens of a and b, each at most once, in any
// order: equal tokens first, then the most similar by Jaro-Winkler above
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
	exact, fuzzy := 0, 0
	for i, x := range a {
		for j, y := range b {
			if !usedB[j] && x == y {
				usedA[i], usedB[j] = true, true
				exact++
				break
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
		}
	}
	paired := exact + fuzzy
	r := tokResult{paired: paired}
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
