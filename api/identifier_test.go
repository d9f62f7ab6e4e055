package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// One document number typed eight ways is one person: NFC and NFD, with
// surrounding spaces, full-width letters, a Unicode hyphen, a zero-width
// space. Each later create is 409, each search finds the first record, and
// the stored value is kept as sent.
func TestIdentifierNormalised(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nfc := norm.NFC.String("UNI-José-1")
	pid := must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", nfc)), http.StatusCreated).JSON(t)["id"].(string)
	variants := map[string]string{
		"NFD":               norm.NFD.String("UNI-José-1"),
		"leading space":     " " + nfc,
		"trailing space":    nfc + " \u00a0",
		"full-width":        "ＵＮＩ－Ｊｏｓé－１",
		"unicode hyphen":    "UNI\u2010José\u20111",
		"zero-width space":  "UNI-\u200bJosé-1",
		"BOM and joiner":    "\ufeffUNI-Jos\u200dé-1",
		"non-breaking dash": "UNI\u2011José\u22121",
	}
	for name, v := range variants {
		r := e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", v))
		if r.Code != http.StatusConflict {
			t.Errorf("%s %q: status %d, want 409: %s", name, v, r.Code, r.Body)
		}
		for _, q := range []string{"urn:ve:cedula|" + v, v} {
			s := must(t, e.do("GET", "/fhir/Patient?identifier="+url.QueryEscape(q), e.hw, ""), http.StatusOK)
			if !strings.Contains(string(s.Body), `"id":"`+pid+`"`) || strings.Count(string(s.Body), `"resourceType":"Patient"`) != 1 {
				t.Errorf("%s: search %q: %s", name, q, s.Body)
			}
		}
	}
	// If-None-Exist with a variant finds the same record: 200, no new one.
	r := e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", variants["full-width"]),
		"If-None-Exist", "identifier="+url.QueryEscape("urn:ve:cedula|"+variants["NFD"]))
	if r.Code != http.StatusOK || r.JSON(t)["id"] != pid {
		t.Errorf("conditional create: %d %s", r.Code, r.Body)
	}
	// The value is stored as sent.
	got := must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), http.StatusOK)
	if !strings.Contains(string(got.Body), `"value":"`+nfc+`"`) {
		t.Errorf("stored identifier changed: %s", got.Body)
	}
	// A different document number is a different person.
	must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", "UNI-Jose-1")), http.StatusCreated)
}
