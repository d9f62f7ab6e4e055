package fhir

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ConformanceTypes are the types of the conformance resources a
// Conformance serves.
var ConformanceTypes = []string{"CodeSystem", "ValueSet", "StructureDefinition", "SearchParameter", "OperationDefinition", "NamingSystem"}

// A Conformance holds the project's conformance resources (code systems
// and their value sets, extension definitions, search parameters,
// operation definitions, naming systems) under one canonical base, each
// with id the last segment of its canonical URL, so that it is served at
// <base>/fhir/<type>/<id> when the node's public base is the canonical
// base. Built once; read-only afterwards.
type Conformance struct {
	base      string
	resources map[string]map[string][]byte // type -> id -> JSON
	urls      map[string][]string          // type/id -> canonical URLs it answers to
}

// NewConformance builds the conformance resources under canonicalBase
// (DefaultCanonicalBase if empty, without a trailing slash). With another
// base than the default, each resource also carries the default URL (the
// one written in records) as an identifier, and answers a search by url
// for either (CodeSystem, ValueSet and StructureDefinition have
// identifier; SearchParameter and OperationDefinition have none in R4).
func NewConformance(canonicalBase string) *Conformance {
	base := strings.TrimRight(canonicalBase, "/")
	if base == "" {
		base = DefaultCanonicalBase
	}
	c := &Conformance{base: base, resources: map[string]map[string][]byte{}, urls: map[string][]string{}}
	for _, cs := range codeSystems {
		c.add("CodeSystem", cs.id, c.codeSystem(cs))
		c.add("ValueSet", cs.id, c.valueSet(cs))
	}
	for _, e := range extensions {
		c.add("StructureDefinition", e.id, c.extension(e))
	}
	for key, p := range ownParams {
		typ, name, _ := strings.Cut(key, ".")
		c.add("SearchParameter", typ+"-"+name, c.searchParameter(typ, name, p.expr, p.desc))
	}
	for _, o := range operations {
		c.add("OperationDefinition", o.id, c.operation(o))
	}
	for _, ns := range namingSystems {
		c.add("NamingSystem", ns.id, map[string]any{
			"name": ns.name, "status": "active", "kind": "identifier", "date": conformanceDate, "description": ns.description,
			"uniqueId": []map[string]any{{"type": "uri", "value": c.URL("NamingSystem", ns.id), "preferred": true}},
		})
	}
	return c
}

// conformanceDate is the date of the current conformance resources.
const conformanceDate = "2026-12-05"

// Base returns the canonical base.
func (c *Conformance) Base() string { return c.base }

// URL returns the canonical URL of resource typ/id.
func (c *Conformance) URL(typ, id string) string { return c.base + canonicalPath(typ, id) }

func (c *Conformance) add(typ, id string, body map[string]any) {
	body["resourceType"] = typ
	body["id"] = id
	urls := []string{c.URL(typ, id)}
	if typ != "NamingSystem" {
		body["url"] = urls[0]
	}
	if c.base != DefaultCanonicalBase {
		def := DefaultCanonicalBase + canonicalPath(typ, id)
		urls = append(urls, def)
		if typ == "NamingSystem" {
			ids := body["uniqueId"].([]map[string]any)
			body["uniqueId"] = append(ids, map[string]any{"type": "uri", "value": def})
		} else if typ == "CodeSystem" || typ == "ValueSet" || typ == "StructureDefinition" {
			body["identifier"] = []map[string]any{{"system": "urn:ietf:rfc:3986", "value": def}}
		}
	}
	if typ != "NamingSystem" {
		body["version"] = "1"
		body["publisher"] = "Contigo"
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("fhir: encode %s/%s: %v", typ, id, err)) // plain values: cannot fail
	}
	if c.resources[typ] == nil {
		c.resources[typ] = map[string][]byte{}
	}
	c.resources[typ][id] = b
	c.urls[typ+"/"+id] = urls
}

// Read returns the JSON of conformance resource typ/id.
func (c *Conformance) Read(typ, id string) ([]byte, bool) {
	b, ok := c.resources[typ][id]
	return b, ok
}

// Search returns the conformance resources of typ, sorted by id; with url
// not empty only the one whose canonical URL is url (the part after a '|'
// version is ignored).
func (c *Conformance) Search(typ, url string) [][]byte {
	url, _, _ = strings.Cut(url, "|")
	ids := make([]string, 0, len(c.resources[typ]))
	for id := range c.resources[typ] {
		if url == "" || slices.Contains(c.urls[typ+"/"+id], url) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = c.resources[typ][id]
	}
	return out
}

// Resolve returns the conformance resource whose canonical URL is url, of
// any type.
func (c *Conformance) Resolve(url string) ([]byte, bool) {
	for _, typ := range ConformanceTypes {
		if r := c.Search(typ, url); len(r) == 1 {
			return r[0], true
		}
	}
	return nil, false
}

// ParamDefinition returns the canonical URL of the definition of search
// parameter name of typ: FHIR's own for a standard one, ours for one this
// server defines, "" for one without a definition (a test forbids that).
func (c *Conformance) ParamDefinition(typ, name string) string {
	if u := StandardParamURL(typ, name); u != "" {
		return u
	}
	if _, ok := ownParams[typ+"."+name]; ok {
		return c.URL("SearchParameter", typ+"-"+name)
	}
	return ""
}

// OperationDefinition returns the canonical URL of the definition of
// operation code, "" if there is none.
func (c *Conformance) OperationDefinition(code string) string {
	o, ok := operationOf(code)
	if !ok {
		return ""
	}
	return c.URL("OperationDefinition", o.id)
}

func (c *Conformance) codeSystem(cs codeSystemDef) map[string]any {
	concepts := make([]map[string]string, len(cs.codes))
	for i, cd := range cs.codes {
		concepts[i] = map[string]string{"code": cd.code, "display": cd.display}
	}
	content := "fragment"
	if cs.complete {
		content = "complete"
	}
	return map[string]any{
		"name": name(cs.id), "title": cs.title, "status": "active", "date": conformanceDate, "description": cs.description,
		"caseSensitive": true, "valueSet": c.URL("ValueSet", cs.id), "content": content, "count": len(concepts), "concept": concepts,
	}
}

func (c *Conformance) valueSet(cs codeSystemDef) map[string]any {
	return map[string]any{
		"name": name(cs.id), "title": cs.title + " (all codes)", "status": "active", "date": conformanceDate,
		"description": "Every code of " + c.URL("CodeSystem", cs.id) + ".",
		"compose":     map[string]any{"include": []map[string]string{{"system": c.URL("CodeSystem", cs.id)}}},
	}
}

func (c *Conformance) extension(e extensionDef) map[string]any {
	ctx := make([]map[string]string, len(e.contexts))
	for i, x := range e.contexts {
		ctx[i] = map[string]string{"type": "element", "expression": x}
	}
	url := c.URL("StructureDefinition", e.id)
	elems := []map[string]any{
		{"id": "Extension", "path": "Extension", "short": e.title, "definition": e.description, "min": 0, "max": "*"},
		{"id": "Extension.url", "path": "Extension.url", "min": 1, "max": "1", "fixedUri": url},
	}
	if len(e.subs) == 0 {
		elems = append(elems, map[string]any{"id": "Extension.extension", "path": "Extension.extension", "min": 0, "max": "0"})
		v := map[string]any{"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1, "max": "1", "type": []map[string]string{{"code": e.valueType}}}
		if e.codeSystem != "" {
			v["binding"] = map[string]string{"strength": "required", "valueSet": c.URL("ValueSet", e.codeSystem)}
		}
		elems = append(elems, v)
	} else {
		for _, s := range e.subs {
			n, typ, _ := strings.Cut(s, ":")
			id := "Extension.extension:" + n
			elems = append(elems,
				map[string]any{"id": id, "path": "Extension.extension", "sliceName": n, "min": 0, "max": "1"},
				map[string]any{"id": id + ".url", "path": "Extension.extension.url", "min": 1, "max": "1", "fixedUri": n},
				map[string]any{"id": id + ".value[x]", "path": "Extension.extension.value[x]", "min": 1, "max": "1", "type": []map[string]string{{"code": typ}}})
		}
		elems = append(elems, map[string]any{"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 0, "max": "0"})
	}
	return map[string]any{
		"name": name(e.id), "title": e.title, "status": "active", "date": conformanceDate, "description": e.description,
		"fhirVersion": fhirVersion, "kind": "complex-type", "abstract": false, "context": ctx, "type": "Extension",
		"baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension", "derivation": "constraint",
		"differential": map[string]any{"element": elems},
	}
}

func (c *Conformance) searchParameter(typ, code, expr, desc string) map[string]any {
	p, _ := paramOf(typ, code)
	t := paramTypes[p.kind]
	if t == "" {
		t = "token"
	}
	sp := map[string]any{
		"name": name(typ + "-" + code), "status": "active", "date": conformanceDate, "description": desc,
		"code": code, "base": []string{typ}, "type": t, "expression": expr, "xpathUsage": "normal",
	}
	if t == "reference" {
		sp["target"] = []string{"Patient"}
	}
	return sp
}

func (c *Conformance) operation(o operationDef) map[string]any {
	params := make([]map[string]any, len(o.params))
	for i, p := range o.params {
		params[i] = map[string]any{"name": p.name, "use": p.use, "min": p.min, "max": p.max, "documentation": p.doc, "type": p.typ}
	}
	od := map[string]any{
		"name": name(o.id), "title": o.title, "status": "active", "kind": "operation", "date": conformanceDate,
		"description": o.description, "affectsState": o.affectsState, "code": o.code,
		"system": o.system, "type": o.typeLevel, "instance": o.instance, "parameter": params,
	}
	if len(o.resource) > 0 {
		od["resource"] = o.resource
	}
	if o.base != "" {
		od["base"] = o.base
	}
	return od
}

// name turns an id such as "nutrition-alert" into a computable name
// "NutritionAlert".
func name(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		switch {
		case r == '-' || r == '_' || r == '.':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
