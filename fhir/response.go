package fhir

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"contigo/records"
)

// statusText is the reason phrase of the statuses entries report.
var statusText = map[int]string{
	200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 412: "Precondition Failed",
	413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
	429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
	502: "Bad Gateway", 503: "Service Unavailable",
}

func statusLine(code int) string {
	return strings.TrimSpace(strconv.Itoa(code) + " " + statusText[code])
}

// TransactionResponse returns the transaction-response Bundle of b:
// applied holds the new versions of the entries that change something (all
// but Existing ones), in entry order. It fails if applied does not fit the
// entries.
func TransactionResponse(b *Bundle, applied []records.Resource) ([]byte, error) {
	out := bundleJSON{ResourceType: "Bundle", Type: "transaction-response"}
	j := 0
	for i, e := range b.Entries {
		resp := &entryResponse{}
		switch {
		case e.Existing != "":
			resp.Status, resp.Location = statusLine(200), e.Existing
		case j >= len(applied):
			return nil, fmt.Errorf("transaction response: no applied version for entry %d", i)
		default:
			r := applied[j]
			j++
			switch {
			case e.Method == "DELETE":
				resp.Status = statusLine(204)
			case r.Version == 1:
				resp.Status = statusLine(201)
			default:
				resp.Status = statusLine(200)
			}
			setResponse(resp, r)
		}
		out.Entry = append(out.Entry, bundleEntry{Response: resp})
	}
	if j != len(applied) {
		return nil, fmt.Errorf("transaction response: %d applied versions for %d entries", len(applied), j)
	}
	return out.marshal()
}

// EntryResult is the outcome of one batch entry.
type EntryResult struct {
	Status   int              // HTTP status of the entry
	Resource records.Resource // the version written or read; zero if none
	Err      error            // the failure, rendered as an OperationOutcome; nil on success
	Return   bool             // include the rendered Resource (GET of one resource)
	Body     []byte           // a resource to include as is (e.g. a searchset Bundle), instead of Resource
}

// BatchResponse returns the batch-response Bundle, one entry per result in
// entry order. A failed entry gets its status and OperationOutcome (never
// internal error text: see OperationOutcome). It fails only if a resource
// cannot be rendered.
func BatchResponse(results []EntryResult) ([]byte, error) {
	out := bundleJSON{ResourceType: "Bundle", Type: "batch-response"}
	for i, res := range results {
		var e bundleEntry
		if res.Err != nil {
			status, body := OperationOutcome(res.Err, "")
			e.Response = &entryResponse{Status: statusLine(status), Outcome: body}
			out.Entry = append(out.Entry, e)
			continue
		}
		e.Response = &entryResponse{Status: statusLine(cmpOr(res.Status, 200))}
		setResponse(e.Response, res.Resource)
		switch {
		case res.Body != nil:
			if !json.Valid(res.Body) {
				return nil, fmt.Errorf("batch response: entry %d: body is not JSON", i)
			}
			e.Resource = res.Body
		case res.Return && !res.Resource.Deleted:
			body, err := Render(res.Resource)
			if err != nil {
				return nil, fmt.Errorf("batch response: entry %d: %w", i, err)
			}
			e.Resource = body
		}
		out.Entry = append(out.Entry, e)
	}
	return out.marshal()
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
