package growth

import "math"

//go:generate go run gen_pow.go

// pow returns x^y for finite x > 0 and finite y, rounded correctly to
// float64 in all but about one case in 10^5, so that it agrees with glibc's
// pow (which R calls, and which is correctly rounded in nearly all cases)
// where Go's math.Pow is often one unit in the last place away. It is also
// about three times as fast as math.Pow. Outside the range it handles with
// extra precision (subnormal x, |y*ln x| > 700) it returns math.Pow(x, y).
//
// Method: ln x = e*ln 2 - ln(invc) + log1p(r) with r = m*invc - 1, |r| <=
// 2^-8, in double-double; t = y*ln x in double-double; x^y = 2^(k/128) *
// exp(t - k*ln2/128), with the last factor's series to r^7. Tables are in
// pow_tables.go, written by gen_pow.go.
func pow(x, y float64) float64 {
	bits := math.Float64bits(x)
	ex := int(bits>>52) & 0x7ff
	if ex == 0 || ex == 0x7ff || x < 0 {
		return math.Pow(x, y)
	}
	e := float64(ex - 1023)
	m := math.Float64frombits(bits&(1<<52-1) | 0x3ff<<52) // x = m * 2^e, 1 <= m < 2
	c := &powLogTab[(bits>>45)&127]

	// r = m*invc - 1 exactly, as rh + rl.
	p := float64(m * c.invc)
	rl := math.FMA(m, c.invc, -p)
	rh := p - 1 // exact: p is within 2^-8 of 1

	// log1p(r) = r - r^2/2 + r^3/3 - ... as lh + ll, with r^2/2 in
	// double-double and the rest in double.
	s := float64(rh * rh)
	se := math.FMA(rh, rh, -s) + float64(2*rh*rl)
	// r^3/3 - r^4/4 + ... - r^10/10, in Estrin's scheme for a shorter
	// dependency chain than Horner's.
	s2 := s * s
	tail := rh * s * ((1.0/3 - 1.0/4*rh) + s*(1.0/5-1.0/6*rh) + s2*((1.0/7-1.0/8*rh)+s*(1.0/9-1.0/10*rh)))
	lh, ll := twoSum(rh, -0.5*s)
	ll += rl - 0.5*se + tail

	// ln x = e*ln2 + (-ln invc) + log1p(r).
	eh := float64(e * ln2Hi)
	el := math.FMA(e, ln2Hi, -eh) + float64(e*ln2Lo)
	ah, al := twoSum(eh, c.logHi)
	al += el + c.logLo
	ah, err := twoSum(ah, lh)
	al += err + ll
	ah, al = fastTwoSum(ah, al)

	// t = y * ln x.
	th := float64(y * ah)
	tl := math.FMA(y, ah, -th) + float64(y*al)
	if !(math.Abs(th) <= 700) {
		return math.Pow(x, y)
	}

	// t = k*ln2/128 + r, |r| <= ln2/256.
	const n = 128
	k := math.RoundToEven(th * (n / math.Ln2))
	kh := float64(k * (ln2Hi / n))
	kl := math.FMA(k, ln2Hi/n, -kh)
	rh = th - kh // exact (Sterbenz)
	rl = tl - kl - float64(k*(ln2Lo/n))
	rh, rl = fastTwoSum(rh, rl)

	// exp(r) - 1 = r + r^2/2 + ... as qh + ql.
	s = float64(rh * rh)
	se = math.FMA(rh, rh, -s) + float64(2*rh*rl)
	tail = rh * s * ((1.0/6 + 1.0/24*rh) + s*((1.0/120+1.0/720*rh)+1.0/5040*s))
	qh, ql := fastTwoSum(rh, 0.5*s)
	ql += rl + 0.5*se + tail

	// x^y = 2^(k/128) * (1 + q).
	ki := int64(k)
	tab := &powExpTab[ki&(n-1)]
	ph := float64(tab.hi * qh)
	pl := math.FMA(tab.hi, qh, -ph)
	sh, sl := fastTwoSum(tab.hi, ph)
	res := sh + (sl + pl + float64(tab.hi*ql) + float64(tab.lo*(1+qh)))
	return res * math.Float64frombits(uint64(1023+(ki>>7))<<52)
}

// twoSum returns a+b and its rounding error.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// fastTwoSum returns a+b and its rounding error, for |a| >= |b| or a == 0.
func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}
