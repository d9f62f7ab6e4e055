package growth

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigPow returns x^y to about 200 bits, by exp(y ln x) with series in
// math/big, for checking pow.
func bigPow(x, y float64) *big.Float {
	const prec = 240
	f := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	// ln x = e ln2 + ln m, ln v = 2 atanh((v-1)/(v+1)).
	atanh2 := func(v *big.Float) *big.Float {
		u := new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).Sub(v, f(1)), new(big.Float).SetPrec(prec).Add(v, f(1)))
		u2 := new(big.Float).SetPrec(prec).Mul(u, u)
		sum, term := new(big.Float).SetPrec(prec), new(big.Float).SetPrec(prec).Set(u)
		for k := 0; k < 200; k++ {
			sum.Add(sum, new(big.Float).SetPrec(prec).Quo(term, f(float64(2*k+1))))
			term.Mul(term, u2)
		}
		return sum.Mul(sum, f(2))
	}
	m, e := math.Frexp(x)
	lnx := atanh2(f(m))
	lnx.Add(lnx, new(big.Float).SetPrec(prec).Mul(f(float64(e)), atanh2(f(2))))
	t := lnx.Mul(lnx, f(y))
	// exp t = (exp(t/2^20))^(2^20).
	t.SetMantExp(t, -20)
	sum, term := f(1), f(1)
	for k := 1; k < 40; k++ {
		term.Mul(term, t)
		term.Quo(term, f(float64(k)))
		sum.Add(sum, term)
	}
	for range 20 {
		sum.Mul(sum, sum)
	}
	return sum
}

// TestPow checks that pow is correctly rounded on the arguments z-scores
// use, x = y/M near 1 and |y| up to 3 (L and 1/L), and on some far from them.
func TestPow(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	n, bad, goBad := 3000, 0, 0
	if testing.Short() {
		n = 300
	}
	for i := range n {
		x := math.Exp(rng.NormFloat64() * 0.4)
		y := rng.Float64()*6 - 3
		switch i % 10 {
		case 0, 3, 6:
			y = math.Round(y*1e4) / 1e4 // like the tables' L
		case 1: // far from the z-score range
			x = math.Exp(rng.Float64()*300 - 150)
			y = rng.Float64()*8 - 4
		}
		want, _ := bigPow(x, y).Float64()
		if got := pow(x, y); got != want {
			bad++
			if math.Abs(got-want) > math.Abs(want)*0x1p-52 {
				t.Errorf("pow(%v, %v) = %v, want %v", x, y, got, want)
			}
		}
		if math.Pow(x, y) != want {
			goBad++
		}
	}
	if bad > 0 {
		t.Errorf("pow: %d of %d not correctly rounded", bad, n)
	}
	t.Logf("pow: %d of %d not correctly rounded; math.Pow: %d", bad, n, goBad)
	for _, tt := range []struct{ x, y float64 }{{1e-310, 0.5}, {1e300, 3}, {2, 1}, {0.5, -1}, {3, 0.5}} {
		if got, want := pow(tt.x, tt.y), math.Pow(tt.x, tt.y); math.Abs(got-want) > math.Abs(want)*0x1p-52 {
			t.Errorf("pow(%v, %v) = %v, want %v", tt.x, tt.y, got, want)
		}
	}
}

// TestPowWide checks pow against math.Pow over the whole range of normal x
// and |y| up to 10, including the fallbacks. math.Pow's own error grows with
// |y ln x| and |y| (it takes exp of y ln x and squares repeatedly), hence a
// tolerance of 16 ulp times |y ln x|: this catches gross errors only;
// TestPow checks correct rounding against math/big.
func TestPowWide(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		x := math.Exp(rng.Float64()*1400 - 700)
		y := rng.Float64()*20 - 10
		got, want := pow(x, y), math.Pow(x, y)
		tol := math.Abs(want) * 0x1p-48 * max(1, math.Abs(y*math.Log(x)))
		if got != want && math.Abs(got-want) > tol {
			t.Fatalf("pow(%v, %v) = %v, math.Pow gives %v", x, y, got, want)
		}
	}
}

func BenchmarkPow(b *testing.B) {
	b.Run("pow", func(b *testing.B) {
		x := 1.1
		for b.Loop() {
			x = pow(x, -0.3521) + 0.5
		}
		benchSink.Z = x
	})
	b.Run("math.Pow", func(b *testing.B) {
		x := 1.1
		for b.Loop() {
			x = math.Pow(x, -0.3521) + 0.5
		}
		benchSink.Z = x
	})
}
