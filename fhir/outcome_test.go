package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir/fhirtest"
	"contigo/records"
)

type decodedOutcome struct {
	Issue []struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Diagnostics string   `json:"diagnostics"`
		Expression  []string `json:"expression"`
	} `json:"issue"`
}

func TestOperationOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        error
		status     int
		code       string
		expression []string
		diag       string
	}{
		{fmt.Errorf("read: %w", records.ErrMalformed), 400, "structure", nil, "read: malformed"},
		{&records.FieldError{Field: "Observation.valueQuantity.unit", Reason: "want kg"}, 422, "invalid", []string{"Observation.valueQuantity.unit"}, "want kg"},
		{&records.FieldError{Field: "_count", Reason: "bad", Kind: records.ErrMalformed}, 400, "structure", []string{"_count"}, "bad"},
		{fmt.Errorf("patient p1: %w", records.ErrNotFound), 404, "not-found", nil, "patient p1: not found"},
		{records.ErrGone, 410, "deleted", nil, "deleted"},
		{records.ErrConflict, 409, "duplicate", nil, "conflict"},
		{records.ErrVersionMismatch, 412, "conflict", nil, "version mismatch"},
		{records.ErrUnauthorized, 401, "login", nil, "unauthorized"},
		{records.ErrForbidden, 403, "forbidden", nil, "forbidden"},
		{records.ErrNotSupported, 501, "not-supported", nil, "not supported"},
		{records.ErrPeerUnavailable, 502, "transient", nil, "peer unavailable"},
		{records.ErrUnavailable, 503, "transient", nil, "storage unavailable"},
		{fmt.Errorf("search: %w", context.DeadlineExceeded), 503, "timeout", nil, "search: context deadline exceeded"},
		{errors.New("dial tcp 10.1.2.3:27017: refused"), 500, "exception", nil, "internal error (request r-42)"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			t.Parallel()
			status, body := OperationOutcome(tt.err, "r-42")
			fhirtest.Validate(t, body)
			var oo decodedOutcome
			if err := json.Unmarshal(body, &oo); err != nil {
				t.Fatal(err)
			}
			if status != tt.status || len(oo.Issue) != 1 {
				t.Fatalf("status %d, body %s; want %d", status, body, tt.status)
			}
			is := oo.Issue[0]
			wantSeverity := "error"
			if status == 500 {
				wantSeverity = "fatal"
			}
			if is.Code != tt.code || is.Severity != wantSeverity || is.Diagnostics != tt.diag || !cmp.Equal(is.Expression, tt.expression) {
				t.Errorf("issue = %+v, want %s %s %q %v", is, wantSeverity, tt.code, tt.diag, tt.expression)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	b := Outcome(r4.IssueSeverityWarning, r4.IssueTypeIncomplete, "", "country PE did not answer in time")
	fhirtest.Validate(t, b)
	want := `{"issue":[{"severity":"warning","code":"incomplete","diagnostics":"country PE did not answer in time"}],"resourceType":"OperationOutcome"}`
	if string(b) != want {
		t.Errorf("Outcome = %s, want %s", b, want)
	}
	for status, want := range map[int]r4.IssueType{413: r4.IssueTypeTooCostly, 415: r4.IssueTypeNotSupported, 405: r4.IssueTypeNotSupported,
		404: r4.IssueTypeNotFound, 401: r4.IssueTypeLogin, 403: r4.IssueTypeForbidden, 429: r4.IssueTypeThrottled, 400: r4.IssueTypeStructure, 500: r4.IssueTypeException} {
		if got := IssueTypeFor(status); got != want {
			t.Errorf("IssueTypeFor(%d) = %s, want %s", status, got.Code(), want.Code())
		}
	}
}

func TestCapabilityStatement(t *testing.T) {
	t.Parallel()
	b := CapabilityStatement("https://node.example/fhir", "1.2.3", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	fhirtest.Validate(t, b)
	var cs struct {
		Software struct{ Name, Version string } `json:"software"`
		Format   []string                       `json:"format"`
		Rest     []struct {
			Interaction []struct{ Code string } `json:"interaction"`
			Resource    []struct {
				Type              string                  `json:"type"`
				Interaction       []struct{ Code string } `json:"interaction"`
				ConditionalCreate bool                    `json:"conditionalCreate"`
				UpdateCreate      bool                    `json:"updateCreate"`
				SearchParam       []struct{ Name, Type string }
				Operation         []struct{ Name string }
			} `json:"resource"`
		} `json:"rest"`
	}
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.Software.Name != "Contigo" || cs.Software.Version != "1.2.3" {
		t.Errorf("software = %+v, want Contigo 1.2.3", cs.Software)
	}
	params := map[string][]string{}
	for _, r := range cs.Rest[0].Resource {
		for _, p := range r.SearchParam {
			params[r.Type] = append(params[r.Type], p.Name+":"+p.Type)
		}
		if r.Type == "Patient" && (len(r.Operation) != 1 || r.Operation[0].Name != "everything" || !r.ConditionalCreate || r.UpdateCreate) {
			t.Errorf("Patient = %+v", r)
		}
	}
	want := []string{"_id:token", "_lastUpdated:date", "address:string", "address-city:string", "address-country:string",
		"address-postalcode:string", "address-state:string", "birthdate:date", "family:string", "gender:token", "given:string", "identifier:token", "name:string"}
	if diff := cmp.Diff(want, params["Patient"]); diff != "" {
		t.Errorf("Patient search params (-want +got):\n%s", diff)
	}
	if len(cs.Rest[0].Resource) != 10+len(ConformanceTypes) || !strings.Contains(string(b), `"code":"transaction"`) || !strings.Contains(string(b), `"code":"batch"`) {
		t.Errorf("CapabilityStatement = %s", b)
	}
	if diff := cmp.Diff([]string{"application/fhir+json", "json"}, cs.Format); diff != "" {
		t.Errorf("formats (-want +got):\n%s", diff)
	}
}
