package fhir

import (
	"encoding/json"
	"time"

	"contigo/records"
)

// ContentType is the media type of FHIR JSON.
const ContentType = "application/fhir+json"

// TimeFormat is how instants are written in Keys and compared in search:
// RFC 3339 with milliseconds, always of a UTC time (so "Z"), so that they
// sort as strings: records.TimeFormat, which "_lastUpdated" uses.
const TimeFormat = records.TimeFormat

type (
	capabilityJSON struct {
		ResourceType   string           `json:"resourceType"`
		Status         string           `json:"status"`
		Date           string           `json:"date"`
		Publisher      string           `json:"publisher"`
		Kind           string           `json:"kind"`
		Software       capSoftware      `json:"software"`
		Implementation capImplementaton `json:"implementation"`
		FhirVersion    string           `json:"fhirVersion"`
		Format         []string         `json:"format"`
		Rest           []capRest        `json:"rest"`
	}
	capSoftware struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	capImplementaton struct {
		Description string `json:"description"`
		URL         string `json:"url,omitempty"`
	}
	capRest struct {
		Mode        string           `json:"mode"`
		Resource    []capResource    `json:"resource"`
		Interaction []capInteraction `json:"interaction"`
	}
	capResource struct {
		Type              string           `json:"type"`
		Interaction       []capInteraction `json:"interaction"`
		Versioning        string           `json:"versioning,omitempty"`
		ReadHistory       bool             `json:"readHistory"`
		UpdateCreate      bool             `json:"updateCreate"`
		ConditionalCreate bool             `json:"conditionalCreate"`
		ConditionalUpdate bool             `json:"conditionalUpdate"`
		ConditionalDelete string           `json:"conditionalDelete"`
		SearchParam       []capSearchParam `json:"searchParam,omitempty"`
		Operation         []capOperation   `json:"operation,omitempty"`
	}
	capInteraction struct {
		Code string `json:"code"`
	}
	capSearchParam struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	capOperation struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
	}
)

// fhirVersion is the FHIR version declared. R4's current release is
// 4.0.1, a technical correction of 4.0.0; the official R4 JSON Schema the
// tests validate against (fhirtest) only knows "4.0.0", so we declare that:
// both are R4 and the same wire format.
const fhirVersion = "4.0.0"

// paramTypes names each paramKind as FHIR's search-param-type.
var paramTypes = map[paramKind]string{
	kindToken: "token", kindString: "string", kindDate: "date",
	kindReference: "reference", kindCode: "token", kindID: "token",
	kindEncounter: "reference", kindQuantity: "quantity",
}

func interactions(codes ...string) []capInteraction {
	out := make([]capInteraction, len(codes))
	for i, c := range codes {
		out[i] = capInteraction{c}
	}
	return out
}

// CapabilityStatement returns the server's CapabilityStatement at base,
// dated now, naming the software's version (left out if empty): exactly the resources, interactions, search parameters and
// operations implemented here.
func CapabilityStatement(base, version string, now time.Time) []byte {
	rest := capRest{Mode: "server", Interaction: interactions("transaction", "batch")}
	for _, typ := range writableTypes {
		r := capResource{
			Type:              typ,
			Interaction:       interactions("read", "vread", "create", "update", "history-instance", "history-type", "search-type"),
			Versioning:        "versioned-update",
			ReadHistory:       true,
			ConditionalCreate: true,
			ConditionalDelete: "not-supported",
		}
		for _, name := range paramNames(typ) {
			p, _ := paramOf(typ, name)
			r.SearchParam = append(r.SearchParam, capSearchParam{name, paramTypes[p.kind]})
		}
		if typ == "Patient" {
			r.Operation = []capOperation{{"everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}
		}
		rest.Resource = append(rest.Resource, r)
	}
	// AuditEvent is read-only and searched by the api package itself
	// (records.AuditQuery), with these parameters.
	rest.Resource = append(rest.Resource, capResource{
		Type:              "AuditEvent",
		Interaction:       interactions("read", "search-type"),
		ConditionalDelete: "not-supported",
		SearchParam:       []capSearchParam{{"date", "date"}, {"entity", "reference"}, {"patient", "reference"}},
	})
	cs := capabilityJSON{
		ResourceType:   "CapabilityStatement",
		Status:         "active",
		Date:           now.UTC().Format(time.RFC3339),
		Publisher:      "Contigo",
		Kind:           "instance",
		Software:       capSoftware{"Contigo", version},
		Implementation: capImplementaton{Description: "Contigo longitudinal health and nutrition records", URL: base},
		FhirVersion:    fhirVersion,
		Format:         []string{ContentType, "json"},
		Rest:           []capRest{rest},
	}
	b, err := json.Marshal(cs)
	if err != nil {
		panic("fhir: encode CapabilityStatement: " + err.Error()) // plain strings: cannot fail
	}
	return b
}
