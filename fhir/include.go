package fhir

import (
	"strings"

	"contigo/records"
)

// Include is one _include or _revinclude value: Source:Param[:Target].
// For _include, Source is the searched type and the matches' references
// under Param are added; for _revinclude, resources of Source whose Param
// points at a match are added.
type Include struct {
	Source string // the type holding the reference
	Param  string // the reference search parameter (subject, patient, encounter, context)
	Target string // Patient or Encounter
	Key    string // the Keys name holding the reference
}

// refTargets says, for each reference parameter that can be followed, what
// it points at.
func refTarget(p param) string {
	switch p.kind {
	case kindReference:
		return "Patient"
	case kindEncounter:
		return "Encounter"
	}
	return ""
}

// MaxIncluded bounds the resources _include and _revinclude add to one
// page; beyond it the Bundle carries a warning.
const MaxIncluded = 1000

// addIncludes reads _include / _revinclude values.
func (req *SearchRequest) addIncludes(name string, values []string) error {
	if strings.HasSuffix(name, ":iterate") {
		return unsupportedErr(name, ":iterate is not supported")
	}
	rev := name == "_revinclude"
	for _, v := range values {
		for one := range strings.SplitSeq(v, ",") {
			inc, err := req.include(name, one, rev)
			if err != nil {
				return err
			}
			if rev {
				req.RevInclude = append(req.RevInclude, inc)
			} else {
				req.Include = append(req.Include, inc)
			}
		}
	}
	return nil
}

func (req *SearchRequest) include(name, v string, rev bool) (Include, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Include{}, searchErr(name, "want Type:parameter[:targetType], e.g. Observation:subject")
	}
	src, pname := parts[0], parts[1]
	if !rev && src != req.Query.Type {
		return Include{}, searchErr(name, "%s searches %s: want %s:parameter", name, req.Query.Type, req.Query.Type)
	}
	if searchParams[src] == nil {
		return Include{}, unsupportedErr(name, "resource type %q is not served", src)
	}
	p, ok := searchParams[src][pname]
	target := refTarget(p)
	if !ok || target == "" {
		return Include{}, unsupportedErr(name, "%s:%s cannot be followed (supported: the subject, patient, encounter and context references)", src, pname)
	}
	if len(parts) == 3 && parts[2] != target {
		return Include{}, unsupportedErr(name, "%s:%s points at %s, not %s", src, pname, target, parts[2])
	}
	if rev && target != req.Query.Type {
		return Include{}, unsupportedErr(name, "%s:%s points at %s, not at %s", src, pname, target, req.Query.Type)
	}
	return Include{Source: src, Param: pname, Target: target, Key: p.key}, nil
}

// Refs returns the references ("Patient/x", "Encounter/y") r holds under
// inc (for _include).
func (inc Include) Refs(r records.Resource) []string {
	return r.Keys[inc.Key]
}

// RevQuery returns the query of the resources of inc.Source that point at
// the resources in matches (for _revinclude).
func (inc Include) RevQuery(matches []records.Resource) records.Query {
	c := records.Cond{Key: inc.Key, Op: records.OpEq}
	for _, m := range matches {
		if m.Type == inc.Target {
			c.Values = append(c.Values, m.Type+"/"+m.ID)
		}
	}
	return records.Query{Type: inc.Source, Conds: []records.Cond{c}, Count: MaxIncluded}
}

// Chain is a chained parameter on the subject: subject.identifier,
// patient.identifier or subject:Patient.identifier = Value.
type Chain struct {
	Name  string // the parameter as given
	Value string // system|value, |value or value
}

// addChain reads a chained parameter.
func (req *SearchRequest) addChain(name string, values []string) error {
	ref, chained, _ := strings.Cut(name, ".")
	base, target, hasTarget := strings.Cut(ref, ":")
	p, ok := searchParams[req.Query.Type][base]
	switch {
	case !ok || p.kind != kindReference:
		return unsupportedErr(name, "chaining is supported on subject and patient only")
	case hasTarget && target != "Patient":
		return unsupportedErr(name, "%s points at Patient, not %s", base, target)
	case chained != "identifier":
		return unsupportedErr(name, "only %s.identifier can be chained", base)
	}
	for _, v := range values {
		req.Chains = append(req.Chains, Chain{Name: name, Value: v})
	}
	return nil
}

// PatientQuery returns the Patient search that resolves ch.
func (ch Chain) PatientQuery() (records.Query, error) {
	p := searchParams["Patient"]["identifier"]
	conds, err := p.conds(ch.Name, ch.Value)
	if err != nil {
		return records.Query{}, err
	}
	return records.Query{Type: "Patient", Conds: conds, Count: MaxCount}, nil
}

// SubjectCond returns the condition that restricts a search to the
// Patients with ids (none: nothing matches).
func SubjectCond(ids []string) records.Cond {
	c := records.Cond{Key: "subject", Op: records.OpEq, Values: []string{}}
	for _, id := range ids {
		c.Values = append(c.Values, "Patient/"+id)
	}
	return c
}

// CompartmentCond returns the condition that keeps a search of typ within
// the compartment of Patient id: the Patient itself, or what refers to it
// as subject or patient. ErrMalformed if id is not an id.
func CompartmentCond(typ, id string) (records.Cond, error) {
	if !validID(id) {
		return records.Cond{}, searchErr("id", "want an id: 1-64 letters, digits, '-' and '.'")
	}
	if typ == "Patient" {
		return records.Cond{Key: "_id", Op: records.OpEq, Values: []string{id}}, nil
	}
	return SubjectCond([]string{id}), nil
}
