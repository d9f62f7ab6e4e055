package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"contigo/records"
)

// This file checks a decoded JSON tree against the shape of samply's
// generated R4 struct for the resource, so that every problem is reported
// with its FHIRPath (encoding/json names neither the path of an unknown
// field nor the field of a bad code).

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
	unmarshalerT   = reflect.TypeFor[json.Unmarshaler]()
)

// structInfo is what the walker needs to know about one struct type.
type structInfo struct {
	fields   map[string]reflect.Type // JSON name -> type
	required []string                // elements without omitempty (min cardinality 1)
	choices  [][]string              // required choice groups: exactly one must be present
	optional [][]string              // optional choice groups: at most one may be present
}

var structInfos sync.Map // reflect.Type -> *structInfo

// fhirTypeSuffixes are the data type names that end the JSON names of
// choice elements (value[x] -> valueQuantity).
var fhirTypeSuffixes = map[string]bool{
	"Boolean": true, "Integer": true, "String": true, "Decimal": true, "Uri": true, "Url": true,
	"Canonical": true, "Base64Binary": true, "Instant": true, "Date": true, "DateTime": true,
	"Time": true, "Code": true, "Oid": true, "Id": true, "Markdown": true, "UnsignedInt": true,
	"PositiveInt": true, "Uuid": true, "Address": true, "Age": true, "Annotation": true,
	"Attachment": true, "CodeableConcept": true, "Coding": true, "ContactPoint": true,
	"Count": true, "Distance": true, "Duration": true, "HumanName": true, "Identifier": true,
	"Money": true, "Period": true, "Quantity": true, "Range": true, "Ratio": true,
	"Reference": true, "SampledData": true, "Signature": true, "Timing": true, "Dosage": true,
	"Expression": true, "Meta": true, "ContactDetail": true, "UsageContext": true,
}

// choicePrefix returns "value" for "valueQuantity", "" if name does not
// end with a data type name.
func choicePrefix(name string) string {
	for i := 1; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' && fhirTypeSuffixes[name[i:]] {
			return name[:i]
		}
	}
	return ""
}

func infoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{fields: map[string]reflect.Type{}}
	groups := map[string][]string{}   // required, by choice prefix
	optional := map[string][]string{} // optional, by choice prefix
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		info.fields[name] = f.Type
		if strings.Contains(opts, "omitempty") {
			if p := choicePrefix(name); p != "" && f.Type.Kind() != reflect.Slice {
				optional[p] = append(optional[p], name)
			}
			continue
		}
		if p := choicePrefix(name); p != "" {
			groups[p] = append(groups[p], name)
			continue
		}
		info.required = append(info.required, name)
	}
	for _, names := range groups {
		if len(names) == 1 {
			info.required = append(info.required, names...)
			continue
		}
		slices.Sort(names)
		info.choices = append(info.choices, names)
	}
	for _, names := range optional {
		if len(names) > 1 {
			slices.Sort(names)
			info.optional = append(info.optional, names)
		}
	}
	slices.SortFunc(info.optional, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	slices.Sort(info.required)
	slices.SortFunc(info.choices, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	v, _ := structInfos.LoadOrStore(t, info)
	return v.(*structInfo)
}

func malformedAt(path, format string, args ...any) error {
	return &records.FieldError{Field: path, Reason: fmt.Sprintf(format, args...), Kind: records.ErrMalformed}
}

func invalidAt(path, format string, args ...any) error {
	return &records.FieldError{Field: path, Reason: fmt.Sprintf(format, args...)}
}

// walk checks the JSON value v (as decoded with UseNumber) against type t
// and the schema definition def ("" if unknown). path is the FHIRPath of v.
func walk(v any, t reflect.Type, path, def string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return malformedAt(path, "null is not allowed in FHIR JSON")
	}
	if t == rawMessageType {
		return nil
	}
	if t == numberType {
		n, ok := v.(json.Number)
		if !ok {
			return malformedAt(path, "want a number, got %s", jsonKind(v))
		}
		return checkPrimitive(string(n), def, path)
	}
	if t.Kind() != reflect.Struct && reflect.PointerTo(t).Implements(unmarshalerT) {
		return walkCode(v, t, path)
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return malformedAt(path, "want a string, got %s", jsonKind(v))
		}
		if strings.TrimSpace(s) == "" {
			return invalidAt(path, "empty strings are not allowed in FHIR JSON")
		}
		return checkPrimitive(s, def, path)
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return malformedAt(path, "want true or false, got %s", jsonKind(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			return malformedAt(path, "want an integer, got %s", jsonKind(v))
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || i < math.MinInt32 || i > math.MaxInt32 {
			return invalidAt(path, "want a 32-bit integer, got %s", n)
		}
		return checkPrimitive(string(n), def, path)
	case reflect.Slice:
		a, ok := v.([]any)
		if !ok {
			return malformedAt(path, "want an array, got %s", jsonKind(v))
		}
		if len(a) == 0 {
			return invalidAt(path, "empty arrays are not allowed in FHIR JSON")
		}
		for i, e := range a {
			if err := walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), def); err != nil {
				return err
			}
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return malformedAt(path, "want an object, got %s", jsonKind(v))
		}
		return walkObject(m, t, path, def, false)
	default:
		return invalidAt(path, "unsupported element")
	}
	return nil
}

// walkObject checks the object m against struct type t and schema
// definition def. top allows "resourceType".
func walkObject(m map[string]any, t reflect.Type, path, def string, top bool) error {
	if len(m) == 0 {
		return invalidAt(path, "empty objects are not allowed in FHIR JSON")
	}
	info := infoOf(t)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Every broken rule of the object is reported, not only the first.
	var errs []error
	for _, k := range keys {
		if top && k == "resourceType" {
			continue
		}
		if base, ok := strings.CutPrefix(k, "_"); ok {
			bt, known := info.fields[base]
			if !known {
				errs = append(errs, invalidAt(path+"."+k, "unknown element %q", k))
				continue
			}
			if err := walkSibling(m, base, bt, m[k], path+"."+k); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		ft, ok := info.fields[k]
		if !ok {
			errs = append(errs, invalidAt(path+"."+k, "unknown element %q", k))
			continue
		}
		var err error
		if sib, ok := m["_"+k]; ok && ft.Kind() == reflect.Slice {
			err = walkPrimitiveList(m[k], sib, ft, path+"."+k, schemaElements[def][k])
		} else {
			err = walk(m[k], ft, path+"."+k, schemaElements[def][k])
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, k := range info.required {
		if _, ok := m[k]; ok {
			continue
		}
		if _, ok := m["_"+k]; !ok {
			errs = append(errs, invalidAt(path+"."+k, "required element %s is missing", k))
		}
	}
	for _, group := range info.choices {
		if countPresent(m, group) != 1 {
			errs = append(errs, invalidAt(path+"."+choicePrefix(group[0])+"[x]", "want exactly one of %s", strings.Join(group, ", ")))
		}
	}
	for _, group := range info.optional {
		if countPresent(m, group) > 1 {
			errs = append(errs, invalidAt(path+"."+choicePrefix(group[0])+"[x]", "want at most one of %s", strings.Join(group, ", ")))
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// checkPrimitive checks s against the pattern of the schema's primitive
// type def. The common types are checked by hand: a regular expression per
// string would cost more than the rest of Parse.
func checkPrimitive(s, def, path string) error {
	ok := true
	switch def {
	case "", "string", "markdown", "boolean", "xhtml":
		return nil
	case "uri", "url", "canonical":
		ok = !strings.ContainsAny(s, " \t\n\r\f\v")
	case "code":
		ok = s != "" && !strings.ContainsAny(s, "\t\n\r\f\v") && !strings.Contains(s, "  ") && s[0] != ' ' && s[len(s)-1] != ' '
	case "id":
		ok = validID(s)
	default:
		if re := schemaPatterns[def]; re != nil {
			ok = re.MatchString(s)
		}
	}
	if !ok {
		return invalidAt(path, "not a valid FHIR %s", primitiveName(def))
	}
	return nil
}

// primitiveName names a primitive type for an error message.
func primitiveName(def string) string {
	if strings.HasPrefix(def, "pattern") {
		return "value"
	}
	return def
}

func countPresent(m map[string]any, names []string) int {
	n := 0
	for _, k := range names {
		_, v := m[k]
		_, e := m["_"+k]
		if v || e {
			n++
		}
	}
	return n
}

// walkCode checks a coded element against samply's enumeration type t.
func walkCode(v any, t reflect.Type, path string) error {
	s, ok := v.(string)
	if !ok {
		return malformedAt(path, "want a code string, got %s", jsonKind(v))
	}
	b, _ := json.Marshal(s)
	if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil || strings.ContainsAny(s, "\"\\") {
		return invalidAt(path, "unknown code %q", s)
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
