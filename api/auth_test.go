package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "auth-1")
	parts := strings.Split(e.hw, ".")
	enc := base64.RawURLEncoding.EncodeToString
	expired, err := SignToken(testKey, Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, IssuedAt: time.Now().Add(-2 * time.Hour).Unix(), ExpiresAt: time.Now().Add(-time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := SignToken([]byte(strings.Repeat("x", 32)), Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, IssuedAt: time.Now().Unix(), ExpiresAt: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, header string
	}{
		{"missing", ""},
		{"not bearer", "Basic dXNlcjpwYXNz"},
		{"bearer without token", "Bearer "},
		{"malformed", "Bearer not-a-jwt"},
		{"alg none", "Bearer " + enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"expired", "Bearer " + expired},
		{"wrong signature", "Bearer " + otherKey},
		{"tampered", "Bearer " + parts[0] + "." + enc([]byte(`{"sub":"x","role":"admin","countries":["CO"],"iat":1,"exp":9999999999}`)) + "." + parts[2]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/fhir/Patient/"+pid, "", "", "Authorization", tt.header)
			wantOutcome(t, r, http.StatusUnauthorized, "login", "")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "authz-1")
	tok := func(role Role, cc ...string) string { return e.token(role, cc...) }
	obs := weightJSON(pid, "2025-06-01", 9.5, "kg")
	for _, tt := range []struct {
		name         string
		method, path string
		token        string
		body         string
		want         int
	}{
		{"health worker reads", "GET", "/fhir/Patient/" + pid, tok(RoleHealthWorker, "CO"), "", 200},
		{"health worker writes", "POST", "/fhir/Observation", tok(RoleHealthWorker, "CO"), obs, 201},
		{"health worker searches", "GET", "/fhir/Patient?_id=" + pid, tok(RoleHealthWorker, "CO"), "", 200},
		{"health worker no audit", "GET", "/fhir/AuditEvent", tok(RoleHealthWorker, "CO"), "", 403},
		{"health worker no audit search", "POST", "/fhir/AuditEvent/_search", tok(RoleHealthWorker, "CO"), "", 403},
		{"health worker other country", "GET", "/fhir/Patient/" + pid, tok(RoleHealthWorker, "EC"), "", 403},
		{"health worker other country path", "GET", "/countries/co/fhir/Patient/" + pid, tok(RoleHealthWorker, "EC"), "", 403},
		{"health worker EC reads EC", "GET", "/countries/EC/fhir/Patient?_id=" + pid, tok(RoleHealthWorker, "EC"), "", 200},
		{"ministry reads", "GET", "/fhir/Patient/" + pid + "/$everything", tok(RoleMinistry, "CO"), "", 200},
		{"ministry writes", "POST", "/fhir/Observation", tok(RoleMinistry, "CO"), obs, 201},
		{"ministry audit", "GET", "/fhir/AuditEvent", tok(RoleMinistry, "CO"), "", 200},
		{"ministry other country", "GET", "/fhir/Patient/" + pid, tok(RoleMinistry, "PE"), "", 403},
		{"nutrition lead no read", "GET", "/fhir/Patient/" + pid, tok(RoleNutritionLead, "CO"), "", 403},
		{"nutrition lead no write", "POST", "/fhir/Observation", tok(RoleNutritionLead, "CO"), obs, 403},
		{"nutrition lead no search", "GET", "/fhir/Observation", tok(RoleNutritionLead, "CO"), "", 403},
		{"nutrition lead no bundle", "POST", "/fhir", tok(RoleNutritionLead, "CO"), `{"resourceType":"Bundle","type":"batch"}`, 403},
		{"nutrition lead no audit", "GET", "/fhir/AuditEvent", tok(RoleNutritionLead, "CO"), "", 403},
		{"admin reads", "GET", "/fhir/Patient/" + pid, tok(RoleAdmin, "CO"), "", 200},
		{"admin audit", "GET", "/fhir/AuditEvent?patient=" + pid, tok(RoleAdmin, "CO"), "", 200},
		{"admin other country", "GET", "/fhir/Patient/" + pid, tok(RoleAdmin, "EC"), "", 403},
		{"country not hosted", "GET", "/countries/PE/fhir/Patient/" + pid, tok(RoleAdmin, "PE"), "", 404},
		{"country not a code", "GET", "/countries/xyz/fhir/Patient/" + pid, tok(RoleAdmin, "CO"), "", 404},
		{"metadata is public", "GET", "/fhir/metadata", "", "", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.token, tt.body)
			if r.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Code, tt.want, r.Body)
			}
			if tt.want >= 400 {
				code := map[int]string{403: "forbidden", 404: "not-found"}[tt.want]
				wantOutcome(t, r, tt.want, code, "")
			}
		})
	}
}

func TestProbesAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	must(t, e.do("GET", "/healthz", "", ""), 200)
	must(t, e.do("GET", "/readyz", "", ""), 200)
	must(t, e.do("GET", "/fhir/metadata", "", ""), 200)
	r := must(t, e.do("GET", "/metrics", "", ""), 200)
	for _, want := range []string{
		`contigo_http_requests_total{code="200",host="",method="GET",url="/fhir/metadata"} 1`,
		`contigo_http_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(r.Body), "/fhir/Patient/") {
		t.Error("metrics are labelled with raw paths")
	}
}

func TestReadyWhenDatabaseDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := recmongo.Open(ctx, recmongo.Config{URI: mongotest.URI(), Countries: []records.Country{"CO"}, DBPrefix: "down_" + strings.ToLower(rand.Text()[:8]) + "_", NoSQLiteIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Service: records.NewService(store, records.ServiceOptions{}), Countries: []records.Country{"CO"}, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, store: store}
	must(t, e.do("GET", "/readyz", "", ""), 200)
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}
	must(t, e.do("GET", "/readyz", "", ""), 503)
	must(t, e.do("GET", "/healthz", "", ""), 200)
}
