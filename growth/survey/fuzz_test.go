package survey

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// FuzzRead feeds arbitrary files to Read and what it accepts to Compute:
// neither may panic, every refusal must match ErrInput, and an accepted
// table has one value per column in every row, counts never NaN.
func FuzzRead(f *testing.F) {
	f.Add("sex,age_days,weight,lenhei,measure,oedema,cl,st,sw,typeres,wealthq\n1,400,8.5,74,l,n,1,1,2,Urban,Q1\n2,1000,12,88,h,y,2,1,1,Rural,3\n2,NA,,,NA,n,3,2,,Urban,9\n1,30,4,55,l,n,4,2,1.5,,\n")
	f.Add("sex\tage_days\tweight\tlenhei\tmeasure\toedema\n1\t400\t8.5\t74\tl\tn\n")
	f.Add("sex,age_months,weight,lenhei,measure,oedema\nf,13.5,8,70,L,N\n")
	f.Add("\ufeffsex,age_days,weight,lenhei,measure,oedema\n\"1\",\"4\"00,8,70,l,n\n")
	f.Fuzz(func(t *testing.T, file string) {
		cols := Columns{}
		if strings.Contains(file, ",sw") {
			cols.Weight = "sw"
		}
		if strings.Contains(file, ",cl,st") {
			cols.Cluster, cols.Strata = "cl", "st"
		}
		if strings.Contains(file, "typeres") {
			cols.By[TypeRes], cols.By[WealthQ] = "typeres", "wealthq"
		}
		in, err := Read(strings.NewReader(file), cols)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("Read: %v does not match ErrInput", err)
			}
			return
		}
		tab, err := Compute(in)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("Compute: %v does not match ErrInput", err)
			}
			return
		}
		for _, r := range tab.Rows {
			if len(r.Values) != NumColumns {
				t.Fatalf("%s: %d values", r.Group, len(r.Values))
			}
			if math.IsNaN(r.Values[0]) || math.IsNaN(r.Values[1]) {
				t.Fatalf("%s: NaN count", r.Group)
			}
		}
	})
}
