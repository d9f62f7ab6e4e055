package fhir

import (
	"fmt"
	"net/url"
	"testing"

	"contigo/records"
)

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, body string }{{"Patient", patientJSON}, {"Observation", weightJSON}, {"Encounter", encounterJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse([]byte(bc.body), bc.name, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	r := stored(b, weightJSON, "p1.o", 3)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEverythingBundle renders a record of 100 entries.
func BenchmarkEverythingBundle(b *testing.B) {
	rs := []records.Resource{stored(b, patientJSON, "p1", 1)}
	for i := range 99 {
		body := encounterJSON
		if i%3 != 0 {
			body = weightJSON
		}
		rs = append(rs, stored(b, body, fmt.Sprintf("p1.%d", i), 1))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EverythingBundle("/fhir", "p1", rs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVisitBundle parses a visit upload and assigns its ids.
func BenchmarkVisitBundle(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		bu, err := ParseBundle([]byte(visitJSON), testNow)
		if err != nil {
			b.Fatal(err)
		}
		if err := AssignIDs(bu, bu.TxnKey(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSearch(b *testing.B) {
	q, _ := url.ParseQuery("name=jose&birthdate=ge2020-01&_sort=-_lastUpdated&_count=50")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSearch("Patient", q); err != nil {
			b.Fatal(err)
		}
	}
}
