package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestOutcomeLanguage: every OperationOutcome carries a details.text in the
// language of Accept-Language (Spanish by default), with the field named;
// diagnostics stays the technical text.
func TestOutcomeLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	text := func(r resp) (details, diag string) {
		is := r.JSON(t)["issue"].([]any)[0].(map[string]any)
		d, _ := is["details"].(map[string]any)
		details, _ = d["text"].(string)
		diag, _ = is["diagnostics"].(string)
		return details, diag
	}
	cases := []struct {
		lang, want, contentLang string
	}{
		{"", "No se encontró lo solicitado.", "es"},
		{"pt-BR,pt;q=0.9", "O solicitado não foi encontrado.", "pt"},
		{"en-GB", "What was asked for was not found.", "en"},
		{"fr", "L'élément demandé est introuvable.", "fr"},
		{"de", "No se encontró lo solicitado.", "es"},
	}
	for _, c := range cases {
		r := e.do("GET", "/fhir/Patient/nosuch", e.hw, "", "Accept-Language", c.lang)
		wantOutcome(t, r, http.StatusNotFound, "not-found", "")
		if d, diag := text(r); d != c.want || diag == "" {
			t.Errorf("Accept-Language %q: details %q diagnostics %q, want %q", c.lang, d, diag, c.want)
		}
		if got := r.Header.Get("Content-Language"); got != c.contentLang {
			t.Errorf("Accept-Language %q: Content-Language %q", c.lang, got)
		}
	}
	r := e.do("GET", "/fhir/Patient", "", "", "Accept-Language", "pt")
	if d, _ := text(r); r.Code != 401 || d != "A credencial falta ou não é válida: entre de novo." {
		t.Errorf("401 in pt: %d %q", r.Code, d)
	}
	r = e.do("POST", "/fhir/Patient", e.hw, `{"resourceType":"Patient","gender":"robot"}`, "Accept-Language", "fr")
	if d, _ := text(r); r.Code != 422 && r.Code != 400 || d == "" || !containsAll(d, "Champ : ", "Patient.gender") {
		t.Errorf("invalid gender in fr: %d %q %s", r.Code, d, r.Body)
	}
}

// containsAll reports whether s contains every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
