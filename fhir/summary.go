package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"time"

	"github.com/google/uuid"

	"contigo/records"
)

// The International Patient Summary (IPS, http://hl7.org/fhir/uv/ips, STU1
// on R4) as a document Bundle built from a person's current record.
const (
	// LOINCPatientSummary codes Composition.type of an IPS.
	LOINCPatientSummary = "60591-5"
	// SummaryTitle is Composition.title of an IPS.
	SummaryTitle = "International Patient Summary"
)

// IPS sections (LOINC codes of Composition.section.code).
const (
	SectionProblems    = "11450-4" // Problem list - Reported (required)
	SectionAllergies   = "48765-2" // Allergies and adverse reactions Document (required)
	SectionMedications = "10160-0" // History of Medication use Narrative (required)
	SectionProcedures  = "47519-4" // History of Procedures Document
	SectionResults     = "30954-2" // Relevant diagnostic tests/laboratory data Narrative
	SectionVitalSigns  = "8716-3"  // Vital signs
	SectionPastIllness = "11348-0" // History of Past illness Narrative
	SectionPregnancy   = "10162-6" // History of pregnancies Narrative
)

// SummaryOptions says where a summary is served from and when.
type SummaryOptions struct {
	Base    string          // absolute base of the FHIR API: stored resources' fullUrl is Base/Type/id
	Country records.Country // the country whose node holds the record, named on the author Device
	Version string          // software version, on the author Device ("" leaves it out)
	Now     time.Time       // Bundle.timestamp and Composition.date
}

// sectionDef is one IPS section: which resources of the record go in it,
// and what its narrative says when the record has nothing for it.
type sectionDef struct {
	code, display, title string
	required             bool
	empty                string // narrative of an empty required section
	holds                func(r records.Resource, b *brief) bool
}

// sections are the IPS sections Summary fills, in document order: the
// required ones first (always present, with a "no information" entry when
// the record has nothing for them), then
// those present only when the record has something for them.
var sections = []sectionDef{
	{SectionMedications, "History of Medication use Narrative", "Medication Summary", true,
		"No information about medications: no medication administration is recorded in this record.",
		func(r records.Resource, _ *brief) bool { return r.Type == "MedicationAdministration" }},
	{SectionAllergies, "Allergies and adverse reactions Document", "Allergies and Intolerances", true,
		"No information about allergies or intolerances: this service does not record them.",
		func(records.Resource, *brief) bool { return false }},
	{SectionProblems, "Problem list - Reported", "Problem List", true,
		"No information about problems: no active problem is recorded in this record.",
		func(r records.Resource, b *brief) bool { return r.Type == "Condition" && !b.resolved() }},
	{SectionProcedures, "History of Procedures Document", "History of Procedures", false, "",
		func(r records.Resource, _ *brief) bool { return r.Type == "Procedure" }},
	{SectionVitalSigns, "Vital signs", "Vital Signs", false, "",
		func(r records.Resource, b *brief) bool { return r.Type == "Observation" && b.vitalSign() }},
	{SectionResults, "Relevant diagnostic tests/laboratory data Narrative", "Results", false, "",
		func(r records.Resource, b *brief) bool {
			return r.Type == "Observation" && !b.vitalSign() && !b.pregnancy()
		}},
	{SectionPastIllness, "History of Past illness Narrative", "History of Past Illness", false, "",
		func(r records.Resource, b *brief) bool { return r.Type == "Condition" && b.resolved() }},
	{SectionPregnancy, "History of pregnancies Narrative", "History of Pregnancy", false, "",
		func(r records.Resource, b *brief) bool { return r.Type == "Observation" && b.pregnancy() }},
}

// Summary returns the International Patient Summary of the current record
// rs of person personID (records.Service.Everything: Patient first) as a
// FHIR R4 document Bundle conforming to the IPS 1.1.0 profiles it claims:
// a Composition (LOINC 60591-5, final, authored by a Device standing for
// this node) with a section for medications, allergies and problems and
// one for every other kind of data the record holds, then the Patient, the
// Device, every resource a section names and every resource of the record
// those refer to, then the resources the summary writes: a
// MedicationStatement derived from each MedicationAdministration (the
// medications section lists those), and for a required section the record
// has nothing for, one entry coded "no information" from
// AbsentUnknownSystem (the IPS way, not emptyReason). Entered-in-error
// resources are left out. Stored resources have their absolute URL as
// fullUrl, the others a urn:uuid; every reference of the Composition is
// the fullUrl of an entry. meta.profile names the IPS profile of each
// entry that has what the profile requires (ipsFitter), of the Composition
// and Bundle when every section has the entries the Composition profile
// requires. It also returns the stored resources included (for the
// audit). ErrNotFound if rs holds no Patient personID.
func Summary(rs []records.Resource, personID string, o SummaryOptions) ([]byte, []records.Resource, error) {
	byRef := make(map[string]records.Resource, len(rs))
	for _, r := range rs {
		if !r.Deleted {
			byRef[r.Type+"/"+r.ID] = r
		}
	}
	patient, ok := byRef["Patient/"+personID]
	if !ok {
		return nil, nil, fmt.Errorf("summary %s: no Patient: %w", personID, records.ErrNotFound)
	}
	fullURL := func(r records.Resource) string { return o.Base + "/" + r.Type + "/" + r.ID }
	urlOf := func(ref string) string {
		if r, ok := byRef[ref]; ok {
			return fullURL(r)
		}
		return ""
	}
	patientURL := fullURL(patient)
	now := o.Now.UTC().Format(time.RFC3339)
	included := []records.Resource{patient}
	seen := map[string]bool{"Patient/" + personID: true}
	include := func(r records.Resource) {
		if k := r.Type + "/" + r.ID; !seen[k] {
			seen[k] = true
			included = append(included, r)
		}
	}

	briefs := make(map[string]*brief, len(rs))
	for k, r := range byRef {
		b, err := briefOf(r)
		if err != nil {
			return nil, nil, err
		}
		briefs[k] = b
	}
	var (
		secs      []docSection
		gen       []generated
		sectionOf = map[string]string{} // "Type/id" -> the section code listing it
		profileOf = map[string]string{} // fullUrl -> IPS profile claimed
	)
	for _, def := range sections {
		var in []records.Resource
		for _, r := range rs {
			if b := briefs[r.Type+"/"+r.ID]; b != nil && !b.errored && def.holds(r, b) {
				in = append(in, r)
			}
		}
		if len(in) == 0 && !def.required {
			continue
		}
		sec := docSection{Title: def.title, Code: loinc(def.code, def.display)}
		if len(in) == 0 {
			g, err := absentOf(def.code, personID, patientURL)
			if err != nil {
				return nil, nil, fmt.Errorf("summary %s: %w", personID, err)
			}
			gen = append(gen, g)
			profileOf[g.fullURL] = g.profile
			sec.Entry = []docReference{{Reference: g.fullURL}}
			sec.Text = narrative("<p>" + html.EscapeString(def.empty) + "</p>")
		} else {
			rows := make([]*brief, len(in))
			for i, r := range in {
				include(r)
				k := r.Type + "/" + r.ID
				rows[i] = briefs[k]
				sectionOf[k] = def.code
				if def.code != SectionMedications {
					sec.Entry = append(sec.Entry, docReference{Reference: fullURL(r)})
					continue
				}
				g, err := statementOf(r, patientURL, now, urlOf)
				if err != nil {
					return nil, nil, fmt.Errorf("summary %s: %w", personID, err)
				}
				gen = append(gen, g)
				profileOf[g.fullURL] = g.profile
				sec.Entry = append(sec.Entry, docReference{Reference: g.fullURL})
			}
			sec.Text = narrative(table(rows))
		}
		secs = append(secs, sec)
	}
	// Close the document over references: what an included resource refers
	// to in the record (the measurements a z-score derives from, an
	// Encounter) comes along, so that the Bundle stands alone.
	for i := 0; i < len(included); i++ {
		for _, ref := range refsOf(included[i].Body) {
			if r, ok := byRef[ref]; ok {
				include(r)
			}
		}
	}
	bodies := make([][]byte, len(included))
	for i, r := range included {
		b, profile, err := ipsRender(r, sectionOf[r.Type+"/"+r.ID])
		if err != nil {
			return nil, nil, fmt.Errorf("summary %s: %w", personID, err)
		}
		bodies[i] = b
		if profile != "" {
			profileOf[fullURL(r)] = profile
		}
	}

	deviceID, compID := uuid.NewString(), uuid.NewString()
	comp := composition{
		ResourceType: "Composition",
		ID:           compID,
		Text:         narrative("<p>" + html.EscapeString(SummaryTitle+" generated "+now+" by Contigo ("+string(o.Country)+").") + "</p>"),
		Identifier:   docIdentifier{System: "urn:ietf:rfc:3986", Value: "urn:uuid:" + compID},
		Status:       "final",
		Type:         loinc(LOINCPatientSummary, "Patient summary Document"),
		Subject:      docReference{Reference: patientURL},
		Date:         now,
		Author:       []docReference{{Reference: "urn:uuid:" + deviceID}},
		Title:        SummaryTitle,
		Section:      secs,
	}
	doc := document{
		ResourceType: "Bundle",
		Identifier:   docIdentifier{System: "urn:ietf:rfc:3986", Value: "urn:uuid:" + uuid.NewString()},
		Type:         "document",
		Timestamp:    now,
	}
	if profileOf[patientURL] == ProfileIPSPatient && sectionsConform(secs, profileOf) {
		comp.Meta = &docMeta{Profile: []string{ProfileIPSComposition}}
		doc.Meta = &docMeta{Profile: []string{ProfileIPSBundle}}
	}
	dev := device{ResourceType: "Device", ID: deviceID, DeviceName: []deviceName{{"Contigo", "model-name"}, {"Contigo node " + string(o.Country), "user-friendly-name"}}}
	if o.Version != "" {
		dev.Version = []deviceVersion{{o.Version}}
	}
	cb, err := marshalDoc(comp)
	if err != nil {
		return nil, nil, fmt.Errorf("summary %s: composition: %w", personID, err)
	}
	db, err := marshalDoc(dev)
	if err != nil {
		return nil, nil, fmt.Errorf("summary %s: device: %w", personID, err)
	}
	// The entries are written as they are: Render's output is valid,
	// compact JSON, which the encoder would check and compact again.
	head, err := marshalDoc(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("summary %s: %w", personID, err)
	}
	var buf bytes.Buffer
	buf.Write(head[:len(head)-1])
	buf.WriteString(`,"entry":[`)
	entry := func(fullURL string, resource []byte) {
		if buf.Bytes()[buf.Len()-1] != '[' {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"fullUrl":`)
		writeJSON(&buf, fullURL)
		buf.WriteString(`,"resource":`)
		buf.Write(resource)
		buf.WriteByte('}')
	}
	entry("urn:uuid:"+compID, cb)
	for i, r := range included {
		entry(fullURL(r), bodies[i])
		if i == 0 { // the author right after the Patient
			entry("urn:uuid:"+deviceID, db)
		}
	}
	for _, g := range gen {
		entry(g.fullURL, g.body)
	}
	buf.WriteString("]}")
	return buf.Bytes(), included, nil
}

// sectionProfiles are the IPS profiles Composition-uv-ips requires at least
// one entry of in a section (the sections' 1..* entry slices).
var sectionProfiles = map[string]string{
	SectionAllergies:   ProfileIPSAllergyIntolerance,
	SectionProblems:    ProfileIPSCondition,
	SectionPastIllness: ProfileIPSCondition,
	SectionProcedures:  ProfileIPSProcedure,
}

// sectionsConform reports whether every section of secs has an entry of
// the profile sectionProfiles requires for it (profileOf: by fullUrl).
func sectionsConform(secs []docSection, profileOf map[string]string) bool {
	for _, s := range secs {
		want, ok := sectionProfiles[s.Code.Coding[0].Code]
		if !ok {
			continue
		}
		if !slices.ContainsFunc(s.Entry, func(e docReference) bool { return profileOf[e.Reference] == want }) {
			return false
		}
	}
	return true
}

// marshalDoc encodes v without escaping <, > and & (narratives hold XHTML).
func marshalDoc(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// loinc returns a CodeableConcept of one LOINC code.
func loinc(code, display string) docConcept {
	return docConcept{Coding: []docCoding{{System: "http://loinc.org", Code: code, Display: display}}}
}

// narrative returns generated narrative of xhtml (already escaped).
func narrative(xhtml string) docNarrative {
	return docNarrative{Status: "generated", Div: `<div xmlns="http://www.w3.org/1999/xhtml">` + xhtml + `</div>`}
}
