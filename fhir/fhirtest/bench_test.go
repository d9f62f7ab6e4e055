package fhirtest

import "testing"

func BenchmarkCheck(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"Patient", `{"resourceType":"Patient","id":"a","birthDate":"2020-01-02","name":[{"family":"X","given":["Y"]}]}`},
		{"Bundle", `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","gender":"male"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"w"}}}]}`},
	} {
		if err := Check([]byte(bc.body)); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Check([]byte(bc.body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
