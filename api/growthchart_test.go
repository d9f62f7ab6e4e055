package api

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"contigo/growth"
	"contigo/records"
)

// chartPoint matches a drawn measurement: country and SVG centre.
var chartPoint = regexp.MustCompile(`class="point" data-country="([A-Z]*)" data-date="([0-9-]+)" data-cx="([0-9.]+)" data-cy="([0-9.]+)"`)

// TestGrowthChartAcrossCountries: a child seen in EC and then in CO, linked,
// gets one weight-for-age chart from CO with both countries' points, the
// CO point exactly on the median drawn on the median curve, in the
// language asked; the carné lists both visits.
func TestGrowthChartAcrossCountries(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC")
	co := nodes["CO"]
	ids := map[records.Country]string{}
	median, _ := growth.ChartSD(growth.ChartWeightForAge, growth.Female, 365, 0)
	median = math.Round(median*1000) / 1000
	visits := map[records.Country][2]any{"EC": {"2024-03-01", 6.1}, "CO": {"2024-09-01", median}}
	for cc, n := range nodes {
		ids[cc] = must(t, n.do("POST", "/fhir/Patient", n.hw, childJSON("Ana", "Rojas", "2023-09-02", "")), 201).JSON(t)["id"].(string)
		v := visits[cc]
		must(t, n.do("POST", "/fhir/Observation", n.hw, weightJSON(ids[cc], v[0].(string), v[1].(float64), "kg")), 201)
		must(t, n.do("POST", "/fhir/Consent", n.hw, consentJSON(ids[cc], "active", "permit")), 201)
	}
	must(t, co.do("POST", "/fhir/Patient/"+ids["CO"]+"/$link", co.hw,
		`{"resourceType":"Parameters","parameter":[{"name":"country","valueCode":"EC"},{"name":"patient","valueString":"`+ids["EC"]+`"}]}`), 200)

	r := must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$growth-chart?indicator=wfa", co.hw, "", "Accept-Language", "pt-BR,pt;q=0.9"), 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") {
		t.Fatalf("Content-Type %q", ct)
	}
	svg := string(r.Body)
	for _, want := range []string{"Peso para a idade, meninas", "Atual: adequado (z = 0", "Colômbia", "Equador", "Mediana"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	pts := chartPoint.FindAllStringSubmatch(svg, -1)
	if len(pts) != 2 || pts[0][1] != "EC" || pts[1][1] != "CO" {
		t.Fatalf("points %v, want EC then CO", pts)
	}
	medianCurve := regexp.MustCompile(`data-sd="0" [^>]*points="([^"]+)"`).FindStringSubmatch(svg)
	if medianCurve == nil {
		t.Fatal("no median curve")
	}
	cx, _ := strconv.ParseFloat(pts[1][3], 64)
	cy, _ := strconv.ParseFloat(pts[1][4], 64)
	if y := polylineY(t, medianCurve[1], cx); math.Abs(y-cy) > 0.6 {
		t.Errorf("child on the median drawn at y %v, median curve at %v", cy, y)
	}

	// Spanish by default; local only when asked.
	r = must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$growth-chart?indicator=wfa&_federated=false", co.hw, ""), 200)
	if !strings.Contains(string(r.Body), "Peso para la edad, niñas") || len(chartPoint.FindAllString(string(r.Body), -1)) != 1 {
		t.Errorf("local Spanish chart: %s", r.Body)
	}
	for _, ind := range []string{"lhfa", "wflh", "bfa", "acfa"} {
		r = must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$growth-chart?indicator="+ind+"&lang=fr", co.hw, ""), 200)
		if !strings.Contains(string(r.Body), "Aucune mesure") {
			t.Errorf("%s chart without length or MUAC should say so: %.300s", ind, r.Body)
		}
	}

	// Refusals: bad indicator, no token, a token for another country.
	wantOutcome(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$growth-chart?indicator=hfa", co.hw, ""), 400, "", "")
	wantOutcome(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$growth-chart", "", ""), 401, "", "")
	wantOutcome(t, co.do("GET", "/fhir/Patient/nosuch/$growth-chart", co.hw, ""), 404, "", "")

	// The carné: both visits, in English.
	r = must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$carne", co.hw, "", "Accept-Language", "en"), 200)
	page := string(r.Body)
	for _, want := range []string{"Health and nutrition card", "Ana Rojas", "2024-03-01", "Ecuador", "2024-09-01", "Colombia", "@media print", "<svg"} {
		if !strings.Contains(page, want) {
			t.Errorf("carné lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != len(carneCharts) {
		t.Errorf("carné has %d charts, want %d", n, len(carneCharts))
	}

	// Both reads were audited as disclosures of the child's record.
	audits := string(must(t, co.do("GET", "/fhir/AuditEvent?patient="+ids["CO"], co.admin, ""), 200).Body)
	for _, op := range []string{"growth-chart", "carne"} {
		if !strings.Contains(audits, op) {
			t.Errorf("no audit of %s: %.500s", op, audits)
		}
	}
}

// polylineY is the y of SVG polyline points pts at x.
func polylineY(t *testing.T, pts string, x float64) float64 {
	t.Helper()
	var px, py float64
	for i, p := range strings.Fields(pts) {
		var cx, cy float64
		if _, err := fmt.Sscanf(p, "%g,%g", &cx, &cy); err != nil {
			t.Fatal(err)
		}
		if i > 0 && px <= x && x <= cx {
			if cx == px {
				return cy
			}
			return py + (cy-py)*(x-px)/(cx-px)
		}
		px, py = cx, cy
	}
	t.Fatalf("x %v outside the curve", x)
	return 0
}
