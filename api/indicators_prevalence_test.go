package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestIndicatorsPrevalence: the anthro_prevalence table from the records of
// seedIndicators counts each child once (C is seen twice), leaves out the
// pregnant woman, counts F's oedema below -3 SD, and groups by admin area.
func TestIndicatorsPrevalence(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	seedIndicators(n)
	r := must(t, n.do("GET", "/indicators?format=prevalence&country=CO&from=2026-01-01&to=2026-03-01", n.lead, ""), http.StatusOK)
	var rep PrevalenceReport
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Children != 5 || rep.Method != "simple" || len(rep.Columns) != 134 {
		t.Fatalf("children %d, method %q, %d columns: %s", rep.Children, rep.Method, len(rep.Columns), r.Body)
	}
	val := func(group, col string) *float64 {
		t.Helper()
		j := slices.Index(rep.Columns, col)
		for _, row := range rep.Rows {
			if row.Group == group {
				return row.Values[j]
			}
		}
		t.Fatalf("no group %q in %s", group, r.Body)
		return nil
	}
	for _, c := range []struct {
		group, col string
		want       float64
	}{
		{"All", "HAZ_unwpop", 1}, // only D has a length
		{"All", "WAZ_unwpop", 2}, // D, and F by oedema
		{"All", "WA_3_r", 100},   // F by oedema, D at 3.2 kg, 2 months
		{"All", "WA_r", -4.14},   // D alone (growth.Z gives -4.14): F with oedema is left out of the mean
		{"Sex: Female", "WAZ_unwpop", 0},
		{"Geographical region: Arauca", "WAZ_unwpop", 2},
	} {
		if v := val(c.group, c.col); v == nil || *v != c.want {
			t.Errorf("%s %s = %v, want %v", c.group, c.col, deref(v), c.want)
		}
	}
	if v := val("Geographical region: Vichada", "HAZ_unwpop"); v == nil || *v != 0 {
		t.Errorf("Vichada HAZ_unwpop = %v, want 0", v)
	}
	// One admin area; CSV as "contigo prevalence" writes it.
	c := must(t, n.do("GET", "/indicators?format=prevalence&from=2026-01-01&to=2026-03-01&admin_area=Vichada", n.lead, "", "Accept", "text/csv"), http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(string(c.Body))).ReadAll()
	if err != nil || len(rows[0]) != 135 || rows[1][0] != "All" {
		t.Fatalf("CSV: %v\n%s", err, c.Body)
	}
	for _, row := range rows {
		if strings.Contains(row[0], "Arauca") {
			t.Errorf("admin_area=Vichada has a row %q", row[0])
		}
	}
	// The data-quality report of the same children.
	q := must(t, n.do("GET", "/indicators?format=quality&from=2026-01-01&to=2026-03-01", n.lead, ""), http.StatusOK)
	var qr QualityReport
	if err := json.Unmarshal(q.Body, &qr); err != nil {
		t.Fatal(err)
	}
	items := map[string]*float64{}
	for _, it := range qr.Items {
		items[it.Indicator+"/"+it.Statistic] = it.Value
	}
	for key, want := range map[string]float64{"all/children": 5, "weight/n": 1, "weight/digit_2": 1, "armc/n": 4, "sex/male": 3, "WAZ/valid": 1} {
		if v := items[key]; v == nil || *v != want {
			t.Errorf("quality %s = %v, want %v", key, deref(v), want)
		}
	}
	must(t, n.do("GET", "/indicators?format=prevalence&from=2026-01-01", n.lead, ""), http.StatusBadRequest)
	must(t, n.do("GET", "/indicators?format=prevalence&from=2026-01-01&to=2026-03-01", n.hw, ""), http.StatusForbidden)
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
