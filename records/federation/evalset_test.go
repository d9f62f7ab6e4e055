package federation

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The evaluation set: harder than generate's. On top of generate's
// families (siblings, twins, unregistered siblings, strangers) it adds
// namesakes (another child with the same given names, surnames and birth
// date, but another mother), mothers registered as patients themselves
// (pregnant or lactating women) who are sighted under a married surname,
// and the corruptions seen on the route that generate lacks: the first
// given name only on one side and the second only on the other, spellings
// that sound the same (v/b, s/z, y/ll, j/g, x/j, a dropped h), birth dates
// a few days off or missing, and the mother's name missing on one side.
//
// Three splits come from three seeds: tuning (the weights and thresholds
// are estimated on it), test, and holdout (never looked at while tuning).
const (
	seedTuning  = 101
	seedTest    = 202
	seedHoldout = 303
)

// evalSet builds a set of at least n registered people from seed.
func evalSet(seed uint64, n int) synthSet {
	r := rand.New(rand.NewPCG(seed, seed^0xe7a1))
	var s synthSet
	serial := 0
	nextID := func() string { serial++; return fmt.Sprintf("%08d", 20000000+serial*7919%70000000) }
	add := func(p synthPerson, registered, sighted bool) {
		if registered {
			s.records = append(s.records, evalRecord(r, p, nextID, len(s.records)))
			if sighted {
				s.queries = append(s.queries, evalSighting(r, p, nextID))
				s.truth = append(s.truth, len(s.records)-1)
			}
		} else if sighted {
			s.queries = append(s.queries, evalSighting(r, p, nextID))
			s.truth = append(s.truth, -1)
		}
	}
	for len(s.records) < n {
		kids := family(r, nextID)
		for _, child := range kids {
			add(child, r.Float64() < 0.85, r.Float64() < 0.8)
			if r.Float64() < 0.015 {
				// A namesake: same names and birth date, another mother.
				other := child
				other.mother = Name{Given: []string{pick(r, girls)}, Family: []string{pick(r, surnames), pick(r, surnames)}}
				other.cedula = nextID()
				add(other, r.Float64() < 0.7, r.Float64() < 0.5)
			}
		}
		if r.Float64() < 0.3 {
			add(motherOf(r, kids[0]), r.Float64() < 0.85, r.Float64() < 0.8)
		}
	}
	for range n / 4 {
		add(family(r, nextID)[0], false, true)
	}
	return s
}

// motherOf returns the mother of child as a patient: a woman of 18 to 40.
func motherOf(r *rand.Rand, child synthPerson) synthPerson {
	birth := time.Date(1986, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(8000))
	m := synthPerson{given: child.mother.Given, family: child.mother.Family, birth: birth, sex: "female",
		nat: child.nat, birthPlace: child.nat}
	// The grandmother: record and sighting leave her out as often as
	// they leave out any mother.
	m.mother = Name{Given: []string{pick(r, girls)}, Family: []string{pick(r, surnames), pick(r, surnames)}}
	if r.Float64() < 0.6 {
		m.cedula = fmt.Sprintf("V%07d", r.IntN(10000000))
	}
	return m
}

// evalRecord is record, with the first given name only (6%) and a married
// woman's surnames as she registered them.
func evalRecord(r *rand.Rand, p synthPerson, nextID func() string, i int) Person {
	out := record(r, p, nextID, i)
	if len(p.given) == 2 && r.Float64() < 0.06 {
		out.Names[0].Given = p.given[:1]
	}
	return out
}

// evalSighting is sighting, with the corruptions generate lacks.
func evalSighting(r *rand.Rand, p synthPerson, nextID func() string) Person {
	out := sighting(r, p, nextID)
	n := &out.Names[0]
	if len(p.given) == 2 && r.Float64() < 0.08 {
		n.Given = []string{p.given[1]} // the second given name only
	}
	if p.birth.Year() < 2010 && r.Float64() < 0.4 {
		// A married woman: the husband's surname replaces her mother's,
		// or follows hers with "de".
		husband := pick(r, surnames)
		if r.Float64() < 0.5 {
			n.Family = []string{p.family[0] + " " + husband}
		} else {
			n.Family = []string{strings.Join(p.family, " ") + " de " + husband}
		}
	}
	if r.Float64() < 0.10 {
		soundAlike(r, n)
	}
	switch x := r.Float64(); {
	case x < 0.04:
		out.BirthDate = ""
	case x < 0.08:
		out.BirthDate = p.birth.AddDate(0, 0, (2+r.IntN(5))*(1-2*r.IntN(2))).Format(time.DateOnly)
	}
	if r.Float64() < 0.15 {
		out.Mother = Name{}
	}
	return out
}

// spellings are pairs of spellings that sound alike in Spanish or
// Portuguese; soundAlike rewrites one occurrence in one name word.
var spellings = [][2]string{{"v", "b"}, {"b", "v"}, {"z", "s"}, {"s", "z"}, {"ll", "y"}, {"y", "ll"},
	{"ge", "je"}, {"gi", "ji"}, {"j", "g"}, {"x", "j"}, {"th", "t"}, {"h", ""}, {"ce", "se"}, {"ci", "si"}, {"qu", "k"}}

func soundAlike(r *rand.Rand, n *Name) {
	words := append(append([]string(nil), n.Given...), n.Family...)
	for range 4 {
		i := r.IntN(len(words))
		sp := spellings[r.IntN(len(spellings))]
		lower := strings.ToLower(words[i])
		k := strings.Index(lower, sp[0])
		if k < 0 || (sp[0] == "j" && !strings.HasPrefix(lower[k:], "je") && !strings.HasPrefix(lower[k:], "ji")) {
			continue
		}
		w := lower[:k] + sp[1] + lower[k+len(sp[0]):]
		if i < len(n.Given) {
			n.Given = append([]string(nil), n.Given...)
			n.Given[i] = w
		} else {
			n.Family = append([]string(nil), n.Family...)
			n.Family[i-len(n.Given)] = w
		}
		return
	}
}
