package fhir

import (
	"encoding/json"
	"slices"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// The rules and Keys of each resource type.

func (p *parser) patient(r *r4.Patient) error {
	p.identifiers(r.Identifier)
	p.names(r.Name)
	bd, err := p.date(r.BirthDate, "Patient.birthDate", true)
	p.note(err)
	p.add("birthdate", bd)
	_, err = p.date(r.DeceasedDateTime, "Patient.deceasedDateTime", false)
	p.note(err)
	if r.Gender != nil {
		p.add("gender", r.Gender.Code())
	}
	p.addresses(r.Address)
	return nil
}

// identifiers adds the identifier keys: "system|value" and, under
// identifier:code, the value alone (NormalizeIdentifier).
func (p *parser) identifiers(ids []r4.Identifier) {
	for _, id := range ids {
		if id.Value == nil {
			continue
		}
		sys := ""
		if id.System != nil {
			sys = *id.System
		}
		v := NormalizeIdentifier(*id.Value)
		if v == "" {
			continue
		}
		p.add("identifier", sys+"|"+v)
		p.add("identifier:code", v)
	}
}

// addresses adds the address keys: each part normalised whole and by
// word (string search is a prefix match), under address-<part> and
// address.
func (p *parser) addresses(as []r4.Address) {
	for _, a := range as {
		parts := map[string][]string{
			"address-city":       optList(a.City),
			"address-state":      optList(a.State),
			"address-country":    optList(a.Country),
			"address-postalcode": optList(a.PostalCode),
			"address":            append(append(slices.Clone(a.Line), optList(a.City)...), append(optList(a.District), append(optList(a.State), append(optList(a.PostalCode), append(optList(a.Country), optList(a.Text)...)...)...)...)...),
		}
		for key, vals := range parts {
			for _, v := range vals {
				p.add(key, normalize(v))
				p.add(key, words(v)...)
			}
		}
	}
}

func optList(s *string) []string {
	if s == nil {
		return nil
	}
	return []string{*s}
}

// reference adds the key of a literal reference to a resource of typ
// ("Encounter/<id>") under key.
func (p *parser) reference(key, typ string, ref *r4.Reference) {
	if ref == nil || ref.Reference == nil {
		return
	}
	if id, ok := strings.CutPrefix(*ref.Reference, typ+"/"); ok && validID(id) {
		p.add(key, *ref.Reference)
	}
}

// names adds the name, family and given keys: each whole value and each
// of its words, normalised (see normalize). The sort keys ("family:sort",
// "given:sort", "name:sort") hold one value each, from the first HumanName:
// records sorts by the smallest value of a key, which for the word lists
// would be any word.
func (p *parser) names(names []r4.HumanName) {
	if len(names) > 0 {
		n := names[0]
		family, given := "", ""
		if n.Family != nil {
			family = normalize(*n.Family)
		}
		if len(n.Given) > 0 {
			given = normalize(strings.Join(n.Given, " "))
		}
		p.add("family:sort", family)
		p.add("given:sort", given)
		p.add("name:sort", strings.TrimSpace(family+" "+given))
	}
	for _, n := range names {
		var whole []string
		if n.Family != nil {
			f := normalize(*n.Family)
			p.add("family", f)
			whole = append(whole, f)
		}
		for _, g := range n.Given {
			p.add("given", normalize(g))
		}
		for _, g := range n.Given {
			p.add("given", words(g)...)
		}
		if n.Family != nil {
			p.add("family", words(*n.Family)...)
		}
		given := make([]string, 0, len(n.Given))
		for _, g := range n.Given {
			given = append(given, normalize(g))
		}
		full := strings.TrimSpace(strings.Join(given, " ") + " " + strings.Join(whole, " "))
		p.add("name", full)
		if n.Text != nil {
			p.add("name", normalize(*n.Text))
			p.add("name", words(*n.Text)...)
		}
		p.add("name", p.keys["family"]...)
		p.add("name", p.keys["given"]...)
		for _, s := range append(slices.Clone(n.Prefix), n.Suffix...) {
			p.add("name", words(s)...)
		}
	}
}

// bodyMeasures are the LOINC codes of body measurements (nutrition-rules.md
// §9) and the UCUM units each may use.
var bodyMeasures = map[string][]string{
	"29463-7": {"kg", "g"},  // body weight
	"8302-2":  {"cm", "mm"}, // body height
	"8306-3":  {"cm", "mm"}, // length, lying
	"8308-9":  {"cm", "mm"}, // height, standing
	"9843-4":  {"cm", "mm"}, // head circumference
	"56072-2": {"mm", "cm"}, // MUAC
}

const (
	loincSystem = "http://loinc.org"
	ucumSystem  = "http://unitsofmeasure.org"
)

func (p *parser) observation(r *r4.Observation) error {
	p.note(p.subject(r.Subject, "Observation.subject"))
	p.tokens("code", &r.Code)
	p.tokens("category", ptrs(r.Category)...)
	p.add("status", r.Status.Code())
	p.reference("encounter", "Encounter", r.Encounter)
	if q := r.ValueQuantity; q != nil && q.Value != nil {
		p.quantityKeys("value-quantity", q.Value.String(), q.System, q.Code, q.Unit)
	}
	p.note(p.effective(r.EffectiveDateTime, r.EffectiveInstant, r.EffectivePeriod, "Observation.effective"))
	_, err := p.date(r.Issued, "Observation.issued", false)
	p.note(err)
	return p.measurement(r)
}

// effective checks effective[x] (dateTime, instant or Period) and adds the
// date key.
func (p *parser) effective(dt, instant *string, pd *r4.Period, path string) error {
	d, err := p.date(dt, path+"DateTime", false)
	p.note(err)
	p.add("date", d)
	d, err = p.date(instant, path+"Instant", false)
	p.note(err)
	p.add("date", d)
	d, err = p.period(pd, path+"Period", false)
	p.note(err)
	p.add("date", d)
	return nil
}

// measurement applies the unit rules to body-measurement Observations.
func (p *parser) measurement(r *r4.Observation) error {
	var units []string
	for _, c := range r.Code.Coding {
		if c.System != nil && *c.System == loincSystem && c.Code != nil {
			if u, ok := bodyMeasures[*c.Code]; ok {
				units = u
				break
			}
		}
	}
	if units == nil {
		return nil
	}
	q := r.ValueQuantity
	if q == nil {
		if r.DataAbsentReason != nil || r.Status == r4.ObservationStatusCancelled || r.Status == r4.ObservationStatusEnteredInError {
			return nil
		}
		return invalidAt("Observation.valueQuantity", "a body measurement needs a valueQuantity")
	}
	if q.Value == nil {
		p.note(invalidAt("Observation.valueQuantity.value", "a body measurement needs a value"))
	} else if !positive(*q.Value) {
		p.note(invalidAt("Observation.valueQuantity.value", "a body measurement must be greater than 0"))
	}
	if q.System == nil || *q.System != ucumSystem {
		p.note(invalidAt("Observation.valueQuantity.system", "want UCUM units (system %s)", ucumSystem))
	}
	if q.Code == nil || !slices.Contains(units, *q.Code) {
		p.note(invalidAt("Observation.valueQuantity.code", "want the UCUM unit %s", strings.Join(units, " or ")))
	}
	if q.Unit != nil && !slices.Contains(units, *q.Unit) {
		p.note(invalidAt("Observation.valueQuantity.unit", "want the unit %s", strings.Join(units, " or ")))
	}
	if q.Comparator != nil {
		p.note(invalidAt("Observation.valueQuantity.comparator", "a body measurement must be exact"))
	}
	return nil
}

func positive(n json.Number) bool {
	f, err := n.Float64()
	return err == nil && f > 0
}

func (p *parser) encounter(r *r4.Encounter) error {
	p.note(p.subject(r.Subject, "Encounter.subject"))
	p.add("status", r.Status.Code())
	p.coding("class", &r.Class)
	p.tokens("type", ptrs(r.Type)...)
	d, err := p.period(r.Period, "Encounter.period", false)
	p.note(err)
	p.add("date", d)
	return nil
}

func (p *parser) condition(r *r4.Condition) error {
	p.note(p.subject(&r.Subject, "Condition.subject"))
	if r.ClinicalStatus != nil {
		for _, c := range r.ClinicalStatus.Coding {
			if c.Code != nil {
				p.add("status", *c.Code)
			}
		}
	}
	p.tokens("verification-status", r.VerificationStatus)
	p.tokens("code", r.Code)
	p.tokens("category", ptrs(r.Category)...)
	p.reference("encounter", "Encounter", r.Encounter)
	onset, err := p.date(r.OnsetDateTime, "Condition.onsetDateTime", false)
	p.note(err)
	p.add("onset-date", onset)
	onsetStart, err := p.period(r.OnsetPeriod, "Condition.onsetPeriod", false)
	p.note(err)
	p.add("onset-date", onsetStart)
	recorded, err := p.date(r.RecordedDate, "Condition.recordedDate", false)
	p.note(err)
	p.add("recorded-date", recorded)
	_, err = p.date(r.AbatementDateTime, "Condition.abatementDateTime", false)
	p.note(err)
	if onset == "" {
		onset = recorded
	}
	p.add("date", onset)
	return nil
}

func (p *parser) episodeOfCare(r *r4.EpisodeOfCare) error {
	p.note(p.subject(&r.Patient, "EpisodeOfCare.patient"))
	p.add("status", r.Status.Code())
	p.tokens("type", ptrs(r.Type)...)
	d, err := p.period(r.Period, "EpisodeOfCare.period", true)
	p.note(err)
	p.add("date", d)
	return nil
}

func (p *parser) procedure(r *r4.Procedure) error {
	p.note(p.subject(&r.Subject, "Procedure.subject"))
	p.add("status", r.Status.Code())
	p.tokens("code", r.Code)
	p.tokens("category", r.Category)
	p.reference("encounter", "Encounter", r.Encounter)
	d, err := p.date(r.PerformedDateTime, "Procedure.performedDateTime", false)
	p.note(err)
	p.add("date", d)
	d, err = p.period(r.PerformedPeriod, "Procedure.performedPeriod", false)
	p.note(err)
	p.add("date", d)
	return nil
}

// medicationAdministrationStatus is the R4 value set
// http://hl7.org/fhir/ValueSet/medication-admin-status (samply types it as
// a plain string).
var medicationAdministrationStatus = []string{"in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown"}

func (p *parser) medicationAdministration(r *r4.MedicationAdministration) error {
	if !slices.Contains(medicationAdministrationStatus, r.Status) {
		p.note(invalidAt("MedicationAdministration.status", "unknown code %q", r.Status))
	}
	p.note(p.subject(&r.Subject, "MedicationAdministration.subject"))
	p.add("status", r.Status)
	p.reference("encounter", "Encounter", r.Context)
	if r.MedicationCodeableConcept.Coding != nil || r.MedicationCodeableConcept.Text != nil {
		p.tokens("code", &r.MedicationCodeableConcept)
	}
	var dt *string
	if r.EffectiveDateTime != "" {
		dt = &r.EffectiveDateTime
	}
	var pd *r4.Period
	if r.EffectivePeriod.Start != nil || r.EffectivePeriod.End != nil {
		pd = &r.EffectivePeriod
	}
	return p.effective(dt, nil, pd, "MedicationAdministration.effective")
}

func (p *parser) flag(r *r4.Flag) error {
	p.note(p.subject(&r.Subject, "Flag.subject"))
	p.identifiers(r.Identifier)
	p.add("status", r.Status.Code())
	p.tokens("code", &r.Code)
	p.tokens("category", ptrs(r.Category)...)
	p.reference("encounter", "Encounter", r.Encounter)
	d, err := p.period(r.Period, "Flag.period", true)
	p.note(err)
	p.add("date", d)
	return nil
}

func (p *parser) consent(r *r4.Consent) error {
	p.note(p.subject(r.Patient, "Consent.patient"))
	p.add("status", r.Status.Code())
	p.tokens("category", ptrs(r.Category)...)
	d, err := p.date(r.DateTime, "Consent.dateTime", false)
	p.note(err)
	p.add("date", d)
	return nil
}
