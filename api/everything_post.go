package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// handleEverythingPost serves POST /fhir/Patient/:id/$everything: the
// parameters of a Parameters body (none if the body is empty) are added to
// those of the query string, then it is the GET.
func (s *Server) handleEverythingPost(c echo.Context) error {
	params, err := s.operationParameters(c)
	if err != nil {
		return err
	}
	q := c.QueryParams() // Echo's cached copy, which handlers read
	for _, p := range params {
		q.Add(p[0], p[1])
	}
	c.Request().URL.RawQuery = q.Encode()
	return s.handleEverythingFederated(c)
}

// operationParameters reads an operation's Parameters body as name, value
// pairs: each parameter must have a name and one primitive value[x].
func (s *Server) operationParameters(c echo.Context) ([][2]string, error) {
	body, err := s.readBody(c)
	if isEmptyBody(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := fhir.CheckJSON(body, "Parameters"); err != nil {
		return nil, err
	}
	var p struct {
		ResourceType string                       `json:"resourceType"`
		Parameter    []map[string]json.RawMessage `json:"parameter"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, &records.FieldError{Field: "Parameters", Reason: "not a Parameters resource: " + err.Error(), Kind: records.ErrMalformed}
	}
	if p.ResourceType != "Parameters" {
		return nil, &records.FieldError{Field: "resourceType", Reason: "the body of an operation is a Parameters resource", Kind: records.ErrMalformed}
	}
	out := make([][2]string, 0, len(p.Parameter))
	for i, m := range p.Parameter {
		at := fmt.Sprintf("Parameters.parameter[%d]", i)
		var name string
		if err := json.Unmarshal(m["name"], &name); err != nil || name == "" {
			return nil, &records.FieldError{Field: at + ".name", Reason: "a parameter needs a name", Kind: records.ErrMalformed}
		}
		value, ok := "", false
		for k, raw := range m {
			if !strings.HasPrefix(k, "value") {
				continue
			}
			if ok {
				return nil, &records.FieldError{Field: at, Reason: "a parameter has one value[x]", Kind: records.ErrMalformed}
			}
			v, err := primitiveValue(raw)
			if err != nil {
				return nil, &records.FieldError{Field: at + "." + k, Reason: err.Error(), Kind: records.ErrMalformed}
			}
			value, ok = v, true
		}
		if !ok {
			return nil, &records.FieldError{Field: at, Reason: "a parameter of this operation has a primitive value[x]", Kind: records.ErrMalformed}
		}
		out = append(out, [2]string{name, value})
	}
	return out, nil
}

// primitiveValue returns a JSON string, number or boolean as the text it
// would have in a query string.
func primitiveValue(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", fmt.Errorf("not a value: %w", err)
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("want a primitive value (string, number or boolean)")
}
