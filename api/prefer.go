package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
)

// What a client asks a write to return (Prefer: return=...).
const (
	returnRepresentation = "representation" // the resource: the default
	returnMinimal        = "minimal"        // headers only
	returnOutcome        = "OperationOutcome"
)

// preferredReturn returns the return preference of the Prefer header,
// returnRepresentation if none or unknown.
func preferredReturn(req *http.Request) string {
	for _, h := range req.Header.Values("Prefer") {
		for pref := range strings.FieldsFuncSeq(h, func(r rune) bool { return r == ',' || r == ';' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(pref), "=")
			if strings.EqualFold(strings.TrimSpace(k), "return") {
				switch v = strings.Trim(strings.TrimSpace(v), `"`); {
				case strings.EqualFold(v, returnMinimal):
					return returnMinimal
				case strings.EqualFold(v, returnOutcome):
					return returnOutcome
				}
				return returnRepresentation
			}
		}
	}
	return returnRepresentation
}

// isWrite reports whether req changes something, so that Prefer: return
// applies to its answer.
func isWrite(req *http.Request) bool {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

// writeWritten answers a write of r (status and headers already chosen)
// as the Prefer header asks: no body, an OperationOutcome, or r itself.
// It reports false when r itself is to be written.
func writeWritten(c echo.Context, status int, r records.Resource) (bool, error) {
	switch preferredReturn(c.Request()) {
	case returnMinimal:
		return true, c.NoContent(status)
	case returnOutcome:
		diag := fmt.Sprintf("%s/%s version %d stored", r.Type, r.ID, r.Version)
		return true, c.Blob(status, fhirJSON, fhir.Outcome(r4.IssueSeverityInformation, r4.IssueTypeInformational, "", diag))
	}
	return false, nil
}

// isBundleRoute reports whether c is POST to the FHIR base: a
// transaction or batch, whose entries Prefer: return applies to.
func isBundleRoute(c echo.Context) bool {
	p := c.Path()
	return c.Request().Method == http.MethodPost && (p == "/fhir" || p == "/countries/:cc/fhir")
}

// preferEntries rewrites a transaction-response or batch-response body
// for Prefer: return=OperationOutcome: every write entry gets an
// informational OperationOutcome in response.outcome (a failed entry keeps
// its own). The entries of writes never carry the resource here, only
// its location, version and date, which is already return=minimal; the
// entries of reads in a batch keep what they read whatever the preference.
// Any other body, or one it cannot read, is returned as it is.
func preferEntries(c echo.Context, body []byte) []byte {
	if preferredReturn(c.Request()) != returnOutcome {
		return body
	}
	var b map[string]json.RawMessage
	if err := json.Unmarshal(body, &b); err != nil {
		return body
	}
	var typ string
	_ = json.Unmarshal(b["type"], &typ)
	if typ != "transaction-response" && typ != "batch-response" {
		return body
	}
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(b["entry"], &entries); err != nil {
		return body
	}
	for _, e := range entries {
		if _, read := e["resource"]; read {
			continue
		}
		var resp map[string]json.RawMessage
		if err := json.Unmarshal(e["response"], &resp); err != nil {
			continue
		}
		if _, ok := resp["outcome"]; ok {
			continue
		}
		var status, location string
		_ = json.Unmarshal(resp["status"], &status)
		_ = json.Unmarshal(resp["location"], &location)
		resp["outcome"] = fhir.Outcome(r4.IssueSeverityInformation, r4.IssueTypeInformational, "", strings.TrimSpace(location+" "+status))
		raw, err := json.Marshal(resp)
		if err != nil {
			return body
		}
		e["response"] = raw
	}
	raw, err := json.Marshal(entries)
	if err != nil {
		return body
	}
	b["entry"] = raw
	out, err := json.Marshal(b)
	if err != nil {
		return body
	}
	return bytes.TrimSpace(out)
}
