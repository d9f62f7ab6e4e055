package fhirtest

import "testing"

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"patient", `{"resourceType":"Patient","id":"a","birthDate":"2020-01-02"}`, true},
		{"bad date", `{"resourceType":"Patient","birthDate":"2020-13-45"}`, false},
		{"unknown element", `{"resourceType":"Patient","foo":1}`, false},
		{"bundle with bad entry", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","gender":"nope"}}]}`, false},
		{"bundle", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","gender":"male"}}]}`, true},
		{"not json", `{`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check([]byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("Check(%s) = %v, want ok=%v", tt.body, err, tt.ok)
			}
		})
	}
}
