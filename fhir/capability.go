package fhir

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
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
		Mode          string           `json:"mode"`
		Documentation string           `json:"documentation,omitempty"`
		Security      *capSecurity     `json:"security,omitempty"`
		Resource      []capResource    `json:"resource"`
		Interaction   []capInteraction `json:"interaction"`
		Operation     []capOperation   `json:"operation,omitempty"`
	}
	capSecurity struct {
		Extension   []capExtension `json:"extension,omitempty"`
		CORS        bool           `json:"cors"`
		Service     []capConcept   `json:"service,omitempty"`
		Description string         `json:"description,omitempty"`
	}
	capExtension struct {
		URL       string         `json:"url"`
		Extension []capExtension `json:"extension,omitempty"`
		ValueURI  string         `json:"valueUri,omitempty"`
	}
	capConcept struct {
		Coding []capCoding `json:"coding"`
		Text   string      `json:"text,omitempty"`
	}
	capCoding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	capResource struct {
		Type              string           `json:"type"`
		Interaction       []capInteraction `json:"interaction,omitempty"`
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
		Code          string `json:"code"`
		Documentation string `json:"documentation,omitempty"`
	}
	capSearchParam struct {
		Name       string `json:"name"`
		Definition string `json:"definition,omitempty"`
		Type       string `json:"type"`
	}
	capOperation struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
	}
)

// fhirVersion is the FHIR version declared: R4's current release, 4.0.1
// (a technical correction of 4.0.0, same wire format). The R4 JSON Schema
// the tests validate against was published with 4.0.0; fhirtest adds 4.0.1
// to its version enums as the 4.0.1 schema does.
const fhirVersion = "4.0.1"

// paramTypes names each paramKind as FHIR's search-param-type.
var paramTypes = map[paramKind]string{
	kindToken: "token", kindString: "string", kindDate: "date",
	kindReference: "reference", kindCode: "token", kindID: "token",
	kindEncounter: "reference", kindQuantity: "quantity",
}

func interactions(codes ...string) []capInteraction {
	out := make([]capInteraction, len(codes))
	for i, c := range codes {
		out[i] = capInteraction{Code: c}
	}
	return out
}

// An Operation is one operation routed on the server: its code (without
// "$") and the resource type it is invoked on ("" at system level).
type Operation struct {
	Code     string
	Resource string
}

// CapabilityOptions says what a CapabilityStatement describes beyond the
// resource types and search parameters of this package.
type CapabilityOptions struct {
	Base    string    // the FHIR base URL, implementation.url
	Version string    // software.version; empty leaves it out
	Now     time.Time // the statement's date
	// TokenURL is the absolute URL of the OAuth 2.0 token endpoint (SMART
	// Backend Services), put in rest.security; empty leaves the oauth-uris
	// extension out.
	TokenURL string
	// Conformance defines the search parameters and operations; nil
	// means the default canonical base.
	Conformance *Conformance
	// Operations are the operations routed; each is listed with its
	// definition.
	Operations []Operation
}

// CapabilityStatement returns the server's CapabilityStatement at base,
// dated now, naming the software's version (left out if empty), with the
// operation $everything only. The api package uses Capability.
func CapabilityStatement(base, version string, now time.Time) []byte {
	return Capability(CapabilityOptions{Base: base, Version: version, Now: now, Operations: []Operation{{"everything", "Patient"}}})
}

// SMART and OAuth URIs of rest.security.
const (
	smartServiceSystem = "http://terminology.hl7.org/CodeSystem/restful-security-service"
	oauthURIsExt       = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
)

// Capability returns the server's CapabilityStatement: exactly the
// resources, interactions, search parameters (each with the canonical URL
// of its definition) and operations (each with its OperationDefinition)
// implemented here, and the security the server applies.
func Capability(o CapabilityOptions) []byte {
	conf := o.Conformance
	if conf == nil {
		conf = NewConformance("")
	}
	rest := capRest{Mode: "server", Documentation: RestDoc, Interaction: []capInteraction{
		{Code: "transaction", Documentation: TransactionDoc},
		{Code: "batch", Documentation: BatchDoc},
	}}
	rest.Security = &capSecurity{
		CORS:        true,
		Service:     []capConcept{{Coding: []capCoding{{System: smartServiceSystem, Code: "SMART-on-FHIR"}}, Text: "OAuth 2.0 bearer tokens (SMART Backend Services)"}},
		Description: "Every interaction but metadata and the conformance resources needs a bearer token; roles and countries limit what it reaches.",
	}
	if o.TokenURL != "" {
		rest.Security.Extension = []capExtension{{URL: oauthURIsExt, Extension: []capExtension{{URL: "token", ValueURI: o.TokenURL}}}}
	}
	ops := map[string][]capOperation{}
	seen := map[string]bool{}
	for _, op := range o.Operations {
		if seen[op.Resource+"$"+op.Code] {
			continue
		}
		seen[op.Resource+"$"+op.Code] = true
		ops[op.Resource] = append(ops[op.Resource], capOperation{op.Code, conf.OperationDefinition(op.Code)})
	}
	for _, l := range ops {
		slices.SortFunc(l, func(a, b capOperation) int { return strings.Compare(a.Name, b.Name) })
	}
	rest.Operation = ops[""]
	for _, typ := range writableTypes {
		r := capResource{
			Type:              typ,
			Interaction:       interactions("read", "vread", "create", "update", "history-instance", "history-type", "search-type"),
			Versioning:        "versioned-update",
			ReadHistory:       true,
			ConditionalCreate: true,
			ConditionalDelete: "not-supported",
			Operation:         ops[typ],
		}
		for _, name := range paramNames(typ) {
			p, _ := paramOf(typ, name)
			r.SearchParam = append(r.SearchParam, capSearchParam{name, conf.ParamDefinition(typ, name), paramTypes[p.kind]})
		}
		rest.Resource = append(rest.Resource, r)
	}
	// AuditEvent is read-only and searched by the api package itself
	// (records.AuditQuery), with these parameters.
	audit := capResource{
		Type:              "AuditEvent",
		Interaction:       interactions("read", "search-type"),
		ConditionalDelete: "not-supported",
	}
	for _, p := range []capSearchParam{{Name: "date", Type: "date"}, {Name: "entity", Type: "reference"}, {Name: "patient", Type: "reference"}} {
		p.Definition = conf.ParamDefinition("AuditEvent", p.Name)
		audit.SearchParam = append(audit.SearchParam, p)
	}
	rest.Resource = append(rest.Resource, audit)
	// Operations on types served only through them (Group/$export).
	for _, typ := range slices.Sorted(maps.Keys(ops)) {
		if typ != "" && !slices.ContainsFunc(rest.Resource, func(r capResource) bool { return r.Type == typ }) {
			rest.Resource = append(rest.Resource, capResource{Type: typ, ConditionalDelete: "not-supported", Operation: ops[typ]})
		}
	}
	// The conformance resources are read-only and searched by url.
	for _, typ := range ConformanceTypes {
		r := capResource{Type: typ, Interaction: interactions("read", "search-type"), ConditionalDelete: "not-supported"}
		if typ != "NamingSystem" {
			r.SearchParam = []capSearchParam{{Name: "url", Definition: "http://hl7.org/fhir/SearchParameter/conformance-url", Type: "uri"}}
		}
		rest.Resource = append(rest.Resource, r)
	}
	cs := capabilityJSON{
		ResourceType:   "CapabilityStatement",
		Status:         "active",
		Date:           o.Now.UTC().Format(time.RFC3339),
		Publisher:      "Contigo",
		Kind:           "instance",
		Software:       capSoftware{"Contigo", o.Version},
		Implementation: capImplementaton{Description: "Contigo longitudinal health and nutrition records", URL: o.Base},
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
