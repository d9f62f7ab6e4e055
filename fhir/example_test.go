package fhir_test

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"contigo/fhir"
	"contigo/records"
)

func ExampleParse() {
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	r, err := fhir.Parse([]byte(`{"resourceType":"Patient","name":[{"family":"Núñez","given":["José"]}],"birthDate":"2024-03"}`), "Patient", now)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Keys["family"], r.Keys["given"], r.Keys["birthdate"])

	_, err = fhir.Parse([]byte(`{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/p1"},
		"valueQuantity":{"value":21,"unit":"lb","system":"http://unitsofmeasure.org","code":"[lb_av]"}}`), "Observation", now)
	if fe, ok := errors.AsType[*records.FieldError](err); ok {
		fmt.Println(fe.Field+":", fe.Reason)
	}
	// Output:
	// [nunez] [jose] [2024-03]
	// Observation.valueQuantity.code: want the UCUM unit kg or g
}

func ExampleParseSearch() {
	q, _ := url.ParseQuery("name=José&birthdate=eq2024&_sort=-birthdate")
	req, err := fhir.ParseSearch("Patient", q)
	if err != nil {
		panic(err)
	}
	for _, c := range req.Query.Conds {
		fmt.Println(c.Key, c.Op, c.Values)
	}
	fmt.Println(req.Query.Sort, req.Query.Count)
	// Output:
	// birthdate 2 [2024]
	// birthdate 5 [2025]
	// name 1 [jose]
	// [{birthdate true}] 20
}
