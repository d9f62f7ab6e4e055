package survey

// psuDesign is a stratified one-stage design with replacement: each row's
// primary sampling unit and each PSU's stratum (svydesign with nest = TRUE
// and no fpc).
type psuDesign struct {
	psu      []int32 // PSU of each row
	stratum  []int32 // stratum of each PSU
	nh       []int   // PSUs per stratum, over the whole data set
	nStrata  int
	psuTotal []float64 // scratch: influence total per PSU
	perRow   bool      // one stratum, every row its own PSU
}

// rowDesign is the design of the simple and hybrid methods: one stratum,
// every row its own PSU.
func rowDesign(n int) *psuDesign {
	d := &psuDesign{psu: make([]int32, n), stratum: make([]int32, n), nh: []int{n}, nStrata: 1, perRow: true}
	for i := range d.psu {
		d.psu[i] = int32(i)
	}
	return d
}

// newPSUDesign builds the survey method's design from the kept rows: PSUs
// are (stratum, cluster) pairs, or single rows without clusters or with one
// distinct cluster; one stratum without strata.
func newPSUDesign(rows []*Child, w []float64, clustered, stratified bool) *psuDesign {
	if clustered {
		first, one := "", true
		for i, c := range rows {
			if i == 0 {
				first = c.Cluster
			} else if c.Cluster != first {
				one = false
				break
			}
		}
		if one {
			clustered = false // anthro: ids = ~1
		}
	}
	d := &psuDesign{psu: make([]int32, len(rows))}
	strata := map[string]int32{}
	type key struct {
		h int32
		c string
	}
	psus := map[key]int32{}
	for i, c := range rows {
		sk := ""
		if stratified {
			sk = c.Strata
		}
		h, ok := strata[sk]
		if !ok {
			h = int32(len(strata))
			strata[sk] = h
			d.nh = append(d.nh, 0)
		}
		if !clustered {
			d.psu[i] = int32(len(d.stratum))
			d.stratum = append(d.stratum, h)
			d.nh[h]++
			continue
		}
		k := key{h, c.Cluster}
		p, ok := psus[k]
		if !ok {
			p = int32(len(d.stratum))
			psus[k] = p
			d.stratum = append(d.stratum, h)
			d.nh[h]++
		}
		d.psu[i] = p
	}
	d.nStrata = len(d.nh)
	d.psuTotal = make([]float64, len(d.stratum))
	return d
}

// degf is survey's degf: PSUs with a row of non-zero weight minus strata
// with such a row.
func (d *psuDesign) degf(w []float64) int {
	psuSeen := make([]bool, len(d.stratum))
	hSeen := make([]bool, d.nStrata)
	np, nh := 0, 0
	for i, p := range d.psu {
		if w[i] == 0 {
			continue
		}
		if !psuSeen[p] {
			psuSeen[p], np = true, np+1
		}
		if h := d.stratum[p]; !hSeen[h] {
			hSeen[h], nh = true, nh+1
		}
	}
	return np - nh
}

// variance returns the linearised variance of a total whose influence value
// is u(i) on each row in rows and 0 elsewhere (svyrecvar, one stage,
// lonely.psu = "adjust").
func (d *psuDesign) variance(rows []int, u func(i int) float64) float64 {
	if d.perRow {
		return d.rowVariance(rows, u)
	}
	t := d.psuTotal
	clear(t)
	for _, i := range rows {
		t[d.psu[i]] += u(i)
	}
	// Per stratum: sum and sum of squares of the PSU totals, centred.
	sum := make([]float64, d.nStrata)
	for p, v := range t {
		sum[d.stratum[p]] += v
	}
	var v float64
	for p, tp := range t {
		h := d.stratum[p]
		nh := d.nh[h]
		if nh == 1 {
			v += tp * tp
			continue
		}
		c := tp - sum[h]/float64(nh)
		v += float64(nh) / float64(nh-1) * c * c
	}
	return v
}

// rowVariance is variance for one stratum of N single-row PSUs, without
// visiting the rows outside rows: the N - len(rows) zero totals each add the
// square of the mean.
func (d *psuDesign) rowVariance(rows []int, u func(i int) float64) float64 {
	n := d.nh[0]
	if n == 1 {
		if len(rows) == 0 {
			return 0
		}
		v := u(rows[0])
		return v * v
	}
	var sum float64
	for _, i := range rows {
		sum += u(i)
	}
	mean := sum / float64(n)
	var ss float64
	for _, i := range rows {
		c := u(i) - mean
		ss += c * c
	}
	ss += float64(n-len(rows)) * mean * mean
	return float64(n) / float64(n-1) * ss
}
