package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"contigo/records"
	"contigo/records/mongo"
)

// fuzzSeeds are real requests (method, path, header lines "Name: value",
// body). $HW, $ADMIN, $LEAD, $MIN stand for tokens and $PID for a Patient
// that exists, so that the fuzzer starts from requests the server accepts.
var fuzzSeeds = [][4]string{
	{"GET", "/fhir/metadata", "", ""},
	{"GET", "/fhir/Patient/$PID", "Authorization: Bearer $HW", ""},
	{"GET", "/fhir/Patient?family=rojas&_count=5", "Authorization: Bearer $HW", ""},
	{"GET", "/fhir/Patient?name=ana&birthdate=ge2020-01-01", "Authorization: Bearer $HW", ""},
	{"GET", "/fhir/Observation?subject=Patient/$PID&code=29463-7", "Authorization: Bearer $HW", ""},
	{"GET", "/fhir/Patient/$PID/$everything", "Authorization: Bearer $HW", ""},
	{"GET", "/fhir/Patient/$PID/_history", "Authorization: Bearer $HW", ""},
	{"GET", "/fhir/Observation/_history?_count=3", "Authorization: Bearer $HW", ""},
	{"GET", "/fhir/AuditEvent?patient=$PID", "Authorization: Bearer $ADMIN", ""},
	{"GET", "/countries/EC/fhir/Patient", "Authorization: Bearer $ADMIN", ""},
	{"POST", "/fhir/Patient", "Authorization: Bearer $HW\nContent-Type: application/fhir+json",
		`{"resourceType":"Patient","name":[{"family":"Paz","given":["Luis"]}],"gender":"male","birthDate":"2023-02-01","identifier":[{"system":"urn:x","value":"UNI-José-1"}]}`},
	{"POST", "/fhir/Patient", "Authorization: Bearer $HW\nContent-Type: application/fhir+json\nIf-None-Exist: identifier=urn:x|A-1",
		`{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"A-1"}]}`},
	{"PUT", "/fhir/Patient/$PID", "Authorization: Bearer $HW\nContent-Type: application/fhir+json\nIf-Match: W/\"1\"",
		`{"resourceType":"Patient","id":"$PID","name":[{"family":"Rojas","given":["Ana"]}],"gender":"female","birthDate":"2024-06-01"}`},
	{"POST", "/fhir/Observation", "Authorization: Bearer $HW\nContent-Type: application/fhir+json",
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/$PID"},"effectiveDateTime":"2025-06-01","valueQuantity":{"value":9.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`},
	{"POST", "/fhir", "Authorization: Bearer $HW\nContent-Type: application/fhir+json",
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:b0000000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:b0000000-0000-4000-8000-000000000001"},"valueString":"a"},"request":{"method":"POST","url":"Observation"}}]}`},
	{"POST", "/fhir", "Authorization: Bearer $HW\nContent-Type: application/fhir+json",
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/$PID"}},{"request":{"method":"GET","url":"Patient/nope"}}]}`},
	{"POST", "/fhir/Patient/$match", "Authorization: Bearer $HW\nContent-Type: application/fhir+json",
		`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"Rojas","given":["Ana"]}],"birthDate":"2024-06-01"}},{"name":"count","valueInteger":3}]}`},
	{"POST", "/fhir/Patient/_search", "Authorization: Bearer $HW\nContent-Type: application/x-www-form-urlencoded", "family=rojas"},
	{"POST", "/fhir/Patient", "Authorization: Bearer $HW\nContent-Type: application/fhir+json", `{"resourceType":"Patient","gender":"female","gender":"male"}`},
	{"POST", "/fhir/Patient", "Authorization: Bearer $HW\nContent-Type: application/xml", `<Patient/>`},
	{"GET", "/fhir/Patient/$PID", "Authorization: Bearer not-a-token", ""},
	{"GET", "/fhir/Patient/$PID", "Authorization: Bearer $LEAD", ""},
	{"PUT", "/fhir/Observation/$PID.n-whz-1", "Authorization: Bearer $MIN\nContent-Type: application/fhir+json",
		`{"resourceType":"Observation","id":"$PID.n-whz-1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/$PID"}}`},
	{"GET", "/alerts?country=CO&format=csv", "Authorization: Bearer $LEAD", ""},
	{"PATCH", "/alerts/x?country=CO", "Authorization: Bearer $LEAD\nContent-Type: application/json", `{"status":"acknowledged","reason":"seen"}`},
	{"POST", "/episodes?country=CO", "Authorization: Bearer $HW\nContent-Type: application/json", `{"patient":"$PID","programme":"otp","date":"2025-12-20","criteria":["muac_mm"]}`},
	{"PATCH", "/episodes/$PID.ep1?country=CO", "Authorization: Bearer $HW\nContent-Type: application/json", `{"outcome":"cured"}`},
	{"GET", "/referrals?country=CO", "Authorization: Bearer $HW", ""},
	{"GET", "/indicators?country=CO&from=2025-01-01&to=2026-01-01&by=sex", "Authorization: Bearer $LEAD", ""},
	{"PATCH", "/fhir/Patient/$PID", "Authorization: Bearer $HW\nContent-Type: application/json-patch+json", `[{"op":"replace","path":"/gender","value":"female"}]`},
	{"PATCH", "/fhir/Observation/$PID.n-zabc", "Authorization: Bearer $MIN\nContent-Type: application/json-patch+json", `[{"op":"add","path":"/language","value":"es"}]`},
	{"PUT", "/fhir/Observation?_id=$PID.n-zabc", "Authorization: Bearer $HW\nContent-Type: application/fhir+json",
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/$PID"},"valueString":"a"}`},
	{"DELETE", "/fhir/Condition/$PID.n-cabc", "Authorization: Bearer $ADMIN", ""},
	{"DELETE", "/fhir/Observation?subject=Patient/$PID&code=29463-7", "Authorization: Bearer $HW", ""},
	{"POST", "/fhir", "Authorization: Bearer $HW\nContent-Type: application/fhir+json",
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Observation?_id=$PID.n-zabc"}},{"request":{"method":"DELETE","url":"Flag/$PID.n-fabc"}}]}`},
	{"DELETE", "/fhir/Patient/$PID", "Authorization: Bearer $ADMIN", ""},
}

// storeFingerprint hashes every document of every collection but the
// audit log, in both countries: any write changes it.
func storeFingerprint(tb testing.TB, s *mongo.Store) string {
	tb.Helper()
	ctx := tb.Context()
	h := sha256.New()
	for _, cc := range []string{"CO", "EC"} {
		db := s.Client().Database(s.DatabaseName(records.Country(cc)))
		names, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			tb.Fatal(err)
		}
		slices.Sort(names)
		for _, name := range names {
			if name == "audit" {
				continue
			}
			cur, err := db.Collection(name).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
			if err != nil {
				tb.Fatal(err)
			}
			for cur.Next(ctx) {
				h.Write([]byte(name))
				h.Write(cur.Current)
			}
			if err := cur.Err(); err != nil {
				tb.Fatal(err)
			}
			cur.Close(ctx)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// FuzzRouter sends fuzzed requests through the real router and embedded
// database. Invariants: no panic, no 5xx, every 4xx an OperationOutcome,
// and a refused request (4xx) changes nothing stored. The seeds run as a
// normal test; go test -fuzz=FuzzRouter ./api/ explores.
func FuzzRouter(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	n := newNutEnv(f, nil)
	store := n.store.(*mongo.Store)
	pid := must(f, n.do("POST", "/fhir/Patient", n.hw, childJSON("Ana", "Rojas", "2024-06-01", "")), http.StatusCreated).JSON(f)["id"].(string)
	tokens := strings.NewReplacer("$HW", n.hw, "$ADMIN", n.admin, "$LEAD", n.lead, "$MIN", n.token(RoleMinistry, "CO"), "$PID", pid)

	f.Fuzz(func(t *testing.T, method, path, headers, body string) {
		path, headers, body = tokens.Replace(path), tokens.Replace(headers), tokens.Replace(body)
		if !strings.HasPrefix(path, "/") || len(body) > 32<<10 {
			t.Skip()
		}
		req, err := http.NewRequest(method, "http://example.com"+path, strings.NewReader(body))
		if err != nil {
			t.Skip() // not a request a server could receive
		}
		req.RequestURI = path
		req.RemoteAddr = "192.0.2.1:1234"
		for line := range strings.SplitSeq(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		before := storeFingerprint(t, store)
		rec := httptest.NewRecorder()
		n.srv.ServeHTTP(rec, req)
		status := rec.Code
		t.Logf("%s %s: %d", method, path, status)
		if status >= 500 {
			t.Fatalf("%s %s: status %d: %s", method, path, status, rec.Body)
		}
		if status < 400 {
			return
		}
		if method != http.MethodHead {
			var oo struct {
				ResourceType string `json:"resourceType"`
				Issue        []any  `json:"issue"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 ||
				!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/fhir+json") {
				t.Fatalf("%s %s: %d is not an OperationOutcome (%s): %s", method, path, status, rec.Header().Get("Content-Type"), rec.Body)
			}
		}
		if after := storeFingerprint(t, store); after != before {
			t.Fatalf("%s %s: refused with %d, yet the store changed: %s", method, path, status, bytes.TrimSpace(rec.Body.Bytes()))
		}
	})
}
