package growth

import (
	"errors"
	"math"
	"testing"
)

// validInput reports whether Assess must accept m.
func validInput(m *Measurement) bool {
	if m.Sex > Female || m.Position > Standing || m.AgeUnit > Months {
		return false
	}
	if m.AgeUnit != AgeUnknown && !(m.Age >= 0 && !math.IsInf(m.Age, 0)) {
		return false
	}
	for _, x := range []float64{m.Weight, m.LenHei, m.HeadC, m.ArmC, m.TriSkin, m.SubSkin} {
		if math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// FuzzAssess checks that Assess never panics, rejects exactly the invalid
// input with an *InputError matching ErrInvalidInput, never returns NaN or
// Inf in an OK score, rounds and flags consistently, and agrees with Z.
func FuzzAssess(f *testing.F) {
	f.Add(uint8(1), uint8(1), 400.0, uint8(1), false, 10.0, 80.0, 46.0, 15.0, 8.0, 6.0)
	f.Add(uint8(2), uint8(0), 0.0, uint8(0), false, 12.92, 93.12, 51.6, 14.2, 6.1, 1.0)
	f.Add(uint8(1), uint8(2), 100.5, uint8(2), true, 0.0, 0.0, -1.0, 0.0, -1.0, 0.0)
	f.Add(uint8(2), uint8(1), 730.5, uint8(1), false, -1.0, 65.7, 0.0, 1e300, 1e-300, 5e-324)
	f.Add(uint8(3), uint8(1), -1.0, uint8(9), false, math.Inf(1), math.NaN(), 0.0, 0.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, sex, unit uint8, age float64, pos uint8, oedema bool, w, l, hc, ac, ts, ss float64) {
		m := Measurement{Sex: Sex(sex), Age: age, AgeUnit: AgeUnit(unit), Position: Position(pos), Oedema: oedema,
			Weight: w, LenHei: l, HeadC: hc, ArmC: ac, TriSkin: ts, SubSkin: ss}
		r, err := Assess(&m)
		if !validInput(&m) {
			_, isInputErr := errors.AsType[*InputError](err)
			if !errors.Is(err, ErrInvalidInput) || !isInputErr || r != (Result{}) {
				t.Fatalf("invalid %+v: got %v, %+v", m, err, r)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid %+v: %v", m, err)
		}
		if r.CMeasure > Standing || r.C9moFlag && r.CMeasure != PositionUnknown {
			t.Fatalf("cmeasure %v c9mo %v", r.CMeasure, r.C9moFlag)
		}
		for i, s := range r.Scores {
			ind := Indicator(i)
			switch {
			case s.OK:
				if s.NonFinite || !Present(s.Z) || !Present(s.Unrounded) || s.Z != Round2(s.Unrounded) && s.Z != 0 {
					t.Fatalf("%v: %+v", ind, s)
				}
				if lim := flagLimits[ind]; s.Flag != (s.Z < lim[0] || s.Z > lim[1]) {
					t.Fatalf("%v: flag %+v", ind, s)
				}
			case s.NonFinite:
				if Present(s.Unrounded) || s.Z != 0 || s.Flag != math.IsInf(s.Unrounded, 0) {
					t.Fatalf("%v: non-finite %+v", ind, s)
				}
			default:
				if s != (Score{}) {
					t.Fatalf("%v: NA %+v", ind, s)
				}
			}
			one, err := Z(ind, &m)
			if err != nil || one != s && !(one.NonFinite && s.NonFinite) {
				t.Fatalf("Z(%v) = %+v, %v; Assess gave %+v", ind, one, err, s)
			}
		}
	})
}

// FuzzMonotone checks that, for the same child, a z-score never falls when
// its measurement rises.
func FuzzMonotone(f *testing.F) {
	f.Add(false, false, 400.0, uint8(0), 70.0, 80.0, 75.0)
	f.Add(true, true, 100.0, uint8(10), 20.0, 25.0, 130.0)
	f.Add(true, false, 0.0, uint8(2), 2.0, 30.0, 86.9)
	f.Fuzz(func(t *testing.T, female, months bool, age float64, ind8 uint8, y1, y2, other float64) {
		ind := Indicator(ind8 % uint8(NumIndicators))
		if y1 > y2 {
			y1, y2 = y2, y1
		}
		z := func(y float64) Score {
			m := measure(Male, age, Days)
			if female {
				m.Sex = Female
			}
			if months {
				m.AgeUnit = Months
			}
			m.Position = Lying
			m.LenHei = other
			switch ind {
			case LenHeiForAge, HeightForAge5to19:
				m.LenHei = y
			case HeadCForAge:
				m.HeadC = y
			case ArmCForAge:
				m.ArmC = y
			case TricepsForAge:
				m.TriSkin = y
			case SubscapularForAge:
				m.SubSkin = y
			default: // weight and BMI at a fixed length
				m.Weight = y
			}
			s, err := Z(ind, &m)
			if err != nil {
				return Score{}
			}
			return s
		}
		s1, s2 := z(y1), z(y2)
		if !s1.OK || !s2.OK {
			return
		}
		tol := 1e-9 * max(1, math.Abs(s1.Unrounded))
		if s1.Unrounded > s2.Unrounded+tol || s1.Unrounded <= s2.Unrounded && s1.Z > s2.Z {
			t.Fatalf("%v: y %v -> %+v, y %v -> %+v", ind, y1, s1, y2, s2)
		}
	})
}
