package fhir

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"

	"contigo/records"
)

// The JSON shapes of the summary document (only the elements it writes).
type (
	document struct {
		ResourceType string        `json:"resourceType"`
		Meta         *docMeta      `json:"meta,omitempty"`
		Identifier   docIdentifier `json:"identifier"`
		Type         string        `json:"type"`
		Timestamp    string        `json:"timestamp"`
	}
	docIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	docCoding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code,omitempty"`
		Display string `json:"display,omitempty"`
	}
	docConcept struct {
		Coding []docCoding `json:"coding,omitempty"`
		Text   string      `json:"text,omitempty"`
	}
	docReference struct {
		Reference string `json:"reference"`
	}
	docNarrative struct {
		Status string `json:"status"`
		Div    string `json:"div"`
	}
	docSection struct {
		Title string         `json:"title"`
		Code  docConcept     `json:"code"`
		Text  docNarrative   `json:"text"`
		Entry []docReference `json:"entry"`
	}
	composition struct {
		ResourceType string         `json:"resourceType"`
		ID           string         `json:"id"`
		Meta         *docMeta       `json:"meta,omitempty"`
		Text         docNarrative   `json:"text"`
		Identifier   docIdentifier  `json:"identifier"`
		Status       string         `json:"status"`
		Type         docConcept     `json:"type"`
		Subject      docReference   `json:"subject"`
		Date         string         `json:"date"`
		Author       []docReference `json:"author"`
		Title        string         `json:"title"`
		Section      []docSection   `json:"section"`
	}
	device struct {
		ResourceType string          `json:"resourceType"`
		ID           string          `json:"id"`
		DeviceName   []deviceName    `json:"deviceName"`
		Version      []deviceVersion `json:"version,omitempty"`
	}
	deviceName struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	deviceVersion struct {
		Value string `json:"value"`
	}
)

// brief is what the summary needs of one stored resource: which section it
// belongs in, a row of the section's narrative, the references it holds.
type brief struct {
	date, label, value, status string
	codes                      []string // "system|code" of code and category
	errored                    bool     // entered in error: left out of the summary
}

// vitalSignCodes are the LOINC codes of the measurements the vital signs
// section lists (besides any Observation of category vital-signs).
var vitalSignCodes = []string{LOINCWeight, LOINCHeight, LOINCLength, LOINCStandingHt, LOINCHeadCirc, LOINCMUAC}

func (b *brief) vitalSign() bool {
	for _, c := range b.codes {
		if code, ok := strings.CutPrefix(c, "http://loinc.org|"); ok && slices.Contains(vitalSignCodes, code) {
			return true
		}
		if c == "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs" {
			return true
		}
	}
	return false
}

func (b *brief) pregnancy() bool {
	return slices.Contains(b.codes, "http://loinc.org|"+LOINCPregnancy) || slices.Contains(b.codes, "http://loinc.org|"+LOINCBreastfeeding)
}

// resolved reports whether a Condition is no longer active.
func (b *brief) resolved() bool {
	return b.status == "resolved" || b.status == "inactive" || b.status == "remission"
}

// briefOf reads the brief of r.
func briefOf(r records.Resource) (*brief, error) {
	var v struct {
		Code           *docConcept  `json:"code"`
		Category       []docConcept `json:"category"`
		Medication     *docConcept  `json:"medicationCodeableConcept"`
		Status         string       `json:"status"`
		ClinicalStatus *docConcept  `json:"clinicalStatus"`
		Verification   *docConcept  `json:"verificationStatus"`
		ValueQuantity  *struct {
			Value json.Number `json:"value"`
			Unit  string      `json:"unit"`
			Code  string      `json:"code"`
		} `json:"valueQuantity"`
		ValueConcept *docConcept `json:"valueCodeableConcept"`
		ValueString  string      `json:"valueString"`
		ValueBoolean *bool       `json:"valueBoolean"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", r.Type, r.ID, err)
	}
	b := &brief{status: v.Status, errored: v.Status == "entered-in-error"}
	if v.Verification != nil {
		for _, c := range v.Verification.Coding {
			b.errored = b.errored || c.Code == "entered-in-error"
		}
	}
	if d := r.Keys["date"]; len(d) > 0 {
		b.date = d[0]
	}
	code := v.Code
	if code == nil {
		code = v.Medication
	}
	if code != nil {
		b.label = code.label()
		for _, c := range code.Coding {
			b.codes = append(b.codes, c.System+"|"+c.Code)
		}
	}
	for _, c := range v.Category {
		for _, cd := range c.Coding {
			b.codes = append(b.codes, cd.System+"|"+cd.Code)
		}
	}
	if v.ClinicalStatus != nil && len(v.ClinicalStatus.Coding) > 0 {
		b.status = v.ClinicalStatus.Coding[0].Code
	}
	switch {
	case v.ValueQuantity != nil:
		unit := cmp.Or(v.ValueQuantity.Unit, v.ValueQuantity.Code)
		if unit == "1" { // UCUM unity: z-scores
			unit = ""
		}
		b.value = strings.TrimSpace(v.ValueQuantity.Value.String() + " " + unit)
	case v.ValueConcept != nil:
		b.value = v.ValueConcept.label()
	case v.ValueString != "":
		b.value = v.ValueString
	case v.ValueBoolean != nil:
		b.value = fmt.Sprint(*v.ValueBoolean)
	}
	return b, nil
}

// label returns the text of a concept: its text, else the display or code
// of its first coding.
func (c *docConcept) label() string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
	}
	if len(c.Coding) > 0 {
		return c.Coding[0].Code
	}
	return ""
}

// refsOf returns the relative references ("Type/id") anywhere in body, a
// stored body (compact JSON, as Parse writes it: inside a string a quote
// is escaped, so the key pattern below only matches a real key).
func refsOf(body []byte) []string {
	var out []string
	const key = `"reference":"`
	for {
		i := bytes.Index(body, []byte(key))
		if i < 0 {
			return out
		}
		body = body[i+len(key)-1:]
		end := 1 // the closing quote of the string at body[0]
		for ; end < len(body) && body[end] != '"'; end++ {
			if body[end] == '\\' {
				end++
			}
		}
		var ref string
		if end < len(body) && json.Unmarshal(body[:end+1], &ref) == nil {
			if typ, id, ok := strings.Cut(ref, "/"); ok && typ != "" && id != "" && !strings.Contains(id, "/") {
				out = append(out, ref)
			}
		}
		body = body[min(end+1, len(body)):]
	}
}

// table returns the XHTML table of a section's rows (escaped).
func table(rows []*brief) string {
	var sb strings.Builder
	sb.WriteString("<table><thead><tr><th>Date</th><th>Item</th><th>Value</th><th>Status</th></tr></thead><tbody>")
	for _, b := range rows {
		sb.WriteString("<tr>")
		for _, cell := range []string{b.date, b.label, b.value, b.status} {
			sb.WriteString("<td>" + html.EscapeString(cell) + "</td>")
		}
		sb.WriteString("</tr>")
	}
	sb.WriteString("</tbody></table>")
	return sb.String()
}
