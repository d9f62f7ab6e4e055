package api

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

func TestSafeCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                        "",
		"-1.23":                   "-1.23",
		"+4":                      "+4",
		"1e-3":                    "1e-3",
		"-":                       "'-",
		"Arauca":                  "Arauca",
		"=HYPERLINK(\"x\",\"y\")": "'=HYPERLINK(\"x\",\"y\")",
		"=cmd|' /C calc'!A0":      "'=cmd|' /C calc'!A0",
		"+1+cmd":                  "'+1+cmd",
		"-2+3":                    "'-2+3",
		"@SUM(A1)":                "'@SUM(A1)",
		"\tx":                     "'\tx",
		"\rx":                     "'\rx",
		"-Inf":                    "'-Inf",
	} {
		if got := safeCell(in); got != want {
			t.Errorf("safeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// A district and a site that a spreadsheet would run come out of the
// /alerts and /indicators CSV as text; negative z-scores stay numbers.
func TestCSVFormulaInjection(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	district := `=HYPERLINK("http://127.0.0.1/x","click")`
	site := `=cmd|' /C calc'!A0`
	body := `{"resourceType":"Patient","gender":"female","birthDate":"2024-01-15","address":[{"district":` + jsonString(district) + `,"state":"Arauca"}]}`
	pid := must(t, n.do("POST", "/fhir/Patient", n.hw, body), http.StatusCreated).JSON(t)["id"].(string)
	n.clk.Set(n.clk.Now().AddDate(0, 0, 4))
	obs := strings.ReplaceAll(strings.ReplaceAll(muacObs(108), "PID", pid), "DATE", "2026-01-05")
	obs = strings.Replace(obs, `"subject"`, `"encounter":{"reference":"urn:uuid:e0000000-0000-4000-8000-000000000001"},"subject"`, 1)
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"urn:uuid:e0000000-0000-4000-8000-000000000001","resource":{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},` +
		`"subject":{"reference":"Patient/` + pid + `"},"period":{"start":"2026-01-05"},"serviceProvider":{"display":` + jsonString(site) + `}},"request":{"method":"POST","url":"Encounter"}},` +
		`{"fullUrl":"urn:uuid:b0000000-0000-4000-8000-000000000001","resource":` + obs + `,"request":{"method":"POST","url":"Observation"}}]}`
	must(t, n.do("POST", "/fhir", n.hw, tx), http.StatusOK)

	c := must(t, n.do("GET", "/alerts", n.lead, "", "Accept", "text/csv"), http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(string(c.Body))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("alerts CSV: %v %q", err, c.Body)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if got := rows[1][col["admin_area"]]; got != "'"+district {
		t.Errorf("admin_area %q, want %q", got, "'"+district)
	}
	if got := rows[1][col["site_id"]]; got != "'"+site {
		t.Errorf("site_id %q, want %q", got, "'"+site)
	}
	if z := rows[1][col["whz"]] + rows[1][col["muac_mm"]]; strings.HasPrefix(z, "'") {
		t.Errorf("numeric cells quoted: %q", rows[1])
	}

	c = must(t, n.do("GET", "/indicators?from=2026-01-01&to=2026-03-01&by=admin_area", n.lead, "", "Accept", "text/csv"), http.StatusOK)
	if strings.Contains(string(c.Body), `,=`) || strings.Contains(string(c.Body), `,"=`) || !strings.Contains(string(c.Body), `'=HYPERLINK`) {
		t.Errorf("indicators CSV not neutralised: %s", c.Body)
	}
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
