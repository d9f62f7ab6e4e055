package federation

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// The labelled synthetic set: children under five of migrant families,
// registered in one country ("records", the candidates), and sighted again
// in another ("queries") with the corruptions that registries on the route
// introduce. Families give the hard negatives: siblings share both
// surnames and the mother, twins share the birth date too, and some
// siblings were never registered in the first country, so their sighting
// must match nobody. Everything is drawn from one seeded PCG source, so the
// set, and the numbers TestMatchQuality asserts, are the same on every run.

// Identifier systems used on the route. Made up for the test: real
// registries publish their own URIs.
const (
	sysVECedula = "urn:contigo:id:ve-cedula" // Venezuelan cédula or birth registration number
	sysCOPPT    = "urn:contigo:id:co-ppt"    // Colombia, Permiso por Protección Temporal
	sysCOPEP    = "urn:contigo:id:co-pep"    // Colombia, Permiso Especial de Permanencia
	sysECVisa   = "urn:contigo:id:ec-virte"  // Ecuador, humanitarian visa
	sysPECPP    = "urn:contigo:id:pe-cpp"    // Peru, Carné de Permiso Temporal de Permanencia
)

var (
	girls = []string{"María", "Valentina", "Camila", "Sofía", "Isabella", "Daniela", "Valeria",
		"Mariana", "Luciana", "Ximena", "Gabriela", "Victoria", "Antonella", "Sara", "Ana", "Paula",
		"Juliana", "Yuleisy", "Génesis", "Nayeli", "Fiorella", "Milagros", "Rosa", "Abigail",
		"Dayana", "Keila", "Lucía", "Fernanda", "José", "Alejandra", "Andrea", "Carolina", "Estefanía",
		"Yorgelis", "Oriana", "Aitana", "Salomé", "Emily", "Allison", "Mía", "Zoe", "Ángela", "Guadalupe"}
	boys = []string{"José", "Juan", "Luis", "Carlos", "Jesús", "Miguel", "Ángel", "David", "Pablo",
		"Santiago", "Sebastián", "Matías", "Samuel", "Alejandro", "Diego", "Andrés", "Nicolás",
		"Thiago", "Gabriel", "Daniel", "Josué", "Jhon", "Brayan", "Kevin", "Anthony", "Jhonatan",
		"Elías", "Joaquín", "Dylan", "Manuel", "Emmanuel", "Jeremías", "Maximiliano", "Eduardo",
		"Leonardo", "Rafael", "Yeferson", "Wilmer", "Franklin", "Óscar", "Martín", "Benjamín"}
	// Compound first names written as one given name.
	girlCompounds = []string{"María José", "María Fernanda", "Ana Lucía", "María Camila", "Luz Marina", "María Ángel"}
	boyCompounds  = []string{"Juan David", "Juan Pablo", "Miguel Ángel", "José Luis", "Juan José", "Luis Ángel"}
	surnames      = []string{"García", "Rodríguez", "Martínez", "Hernández", "López", "González",
		"Pérez", "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz",
		"Morales", "Reyes", "Gutiérrez", "Ortiz", "Chávez", "Ramos", "Vargas", "Castillo", "Jiménez",
		"Moreno", "Romero", "Herrera", "Medina", "Aguilar", "Mendoza", "Rojas", "Quispe", "Mamani",
		"Huamán", "Castro", "Suárez", "Vásquez", "Salazar", "Guerrero", "Ríos", "Peña", "Cárdenas",
		"Contreras", "Paredes", "Zambrano", "Montoya", "Ochoa", "Delgado", "Núñez", "Osorio", "Cedeño",
		"Villegas", "Carrillo", "Briceño", "Colmenares", "Marcano", "Urdaneta", "Añez", "Guzmán",
		"De la Cruz", "Del Valle", "De la Rosa", "De León", "De los Santos", "Ponce de León"}
)

// synthSet is the labelled set: truth[i] is the index in records of the
// person queries[i] is, or -1 if they were never registered there.
type synthSet struct {
	records []Person
	queries []Person
	truth   []int
}

// synthPerson is a generated person before they are written down.
type synthPerson struct {
	given      []string
	family     []string // two surnames, father's first
	birth      time.Time
	sex        string
	nat        string
	birthPlace string
	mother     Name
	cedula     string
}

// generate builds a set of at least n registered children, their
// sightings, and the distractors, from seed.
func generate(seed uint64, n int) synthSet {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var s synthSet
	serial := 0
	nextID := func() string { serial++; return fmt.Sprintf("%08d", 10000000+serial*7919%90000000) }
	for len(s.records) < n {
		for _, child := range family(r, nextID) {
			registered := r.Float64() < 0.85
			if registered {
				s.records = append(s.records, record(r, child, nextID, len(s.records)))
				s.queries = append(s.queries, sighting(r, child, nextID))
				s.truth = append(s.truth, len(s.records)-1)
			} else if r.Float64() < 0.7 {
				s.queries = append(s.queries, sighting(r, child, nextID))
				s.truth = append(s.truth, -1)
			}
		}
	}
	// Unrelated children first seen abroad: common surnames, same birth
	// years, so chance collisions happen as they do in real registries.
	for range n / 4 {
		fam := family(r, nextID)
		s.queries = append(s.queries, sighting(r, fam[0], nextID))
		s.truth = append(s.truth, -1)
	}
	return s
}

// family returns the children of one mother: one to three, sometimes twins,
// sharing both surnames (or the mother's two) and the mother's name.
func family(r *rand.Rand, nextID func() string) []synthPerson {
	mother := Name{Given: []string{pick(r, girls)}, Family: []string{pick(r, surnames), pick(r, surnames)}}
	if r.Float64() < 0.3 {
		mother.Given = append(mother.Given, pick(r, girls))
	}
	fam := []string{pick(r, surnames), mother.Family[0]}
	if r.Float64() < 0.2 { // single mother: the child takes both her surnames
		fam = mother.Family
	}
	nat := "VE"
	switch x := r.Float64(); {
	case x < 0.1:
		nat = "CO"
	case x < 0.15:
		nat = "EC"
	}
	kids := 1
	switch x := r.Float64(); {
	case x < 0.1:
		kids = 3
	case x < 0.4:
		kids = 2
	}
	twins := r.Float64() < 0.15
	// Birth dates between 2021-12-01 and 2026-11-01: under five on the day
	// the set pretends to be.
	first := time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(1796))
	var out []synthPerson
	var usedGiven []string
	for k := range kids {
		birth := first.AddDate(0, 0, k*(300+r.IntN(500)))
		if twins && k == 1 {
			birth = out[0].birth
		}
		if birth.After(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
			break
		}
		sex := "female"
		if r.IntN(2) == 0 {
			sex = "male"
		}
		var given []string
		for {
			given = givenNames(r, sex, usedGiven)
			if !containsStr(usedGiven, strings.Join(given, " ")) {
				break
			}
		}
		usedGiven = append(usedGiven, strings.Join(given, " "))
		place := nat
		if r.Float64() < 0.15 { // born on the route
			place = pick(r, []string{"CO", "EC", "PE"})
		}
		p := synthPerson{given: given, family: fam, birth: birth, sex: sex, nat: nat, birthPlace: place, mother: mother}
		if r.Float64() < 0.5 {
			p.cedula = nextID()
		}
		out = append(out, p)
	}
	return out
}

// givenNames picks one or two given names; a sibling's first name is often
// reused ("María José" and "María Fernanda").
func givenNames(r *rand.Rand, sex string, siblings []string) []string {
	list, compounds := girls, girlCompounds
	if sex == "male" {
		list, compounds = boys, boyCompounds
	}
	switch x := r.Float64(); {
	case x < 0.2:
		return []string{pick(r, compounds)}
	case x < 0.55:
		first := pick(r, list)
		if len(siblings) > 0 && r.Float64() < 0.4 {
			first = strings.Fields(siblings[0])[0]
		}
		second := pick(r, list)
		for second == first {
			second = pick(r, list)
		}
		return []string{first, second}
	}
	return []string{pick(r, list)}
}

// record writes p down as the first country's registry does: accents kept,
// surnames in one string or two, a cédula and/or a Colombian permit.
func record(r *rand.Rand, p synthPerson, nextID func() string, i int) Person {
	out := Person{Country: "CO", ID: fmt.Sprintf("co-%05d", i), BirthDate: p.birth.Format(time.DateOnly), Sex: p.sex}
	name := Name{Given: p.given, Family: []string{strings.Join(p.family, " ")}}
	if r.Float64() < 0.3 {
		name.Family = p.family
	}
	out.Names = []Name{name}
	if p.cedula != "" && r.Float64() < 0.7 {
		out.Identifiers = append(out.Identifiers, sysVECedula+"|"+p.cedula)
	}
	switch x := r.Float64(); {
	case x < 0.4:
		out.Identifiers = append(out.Identifiers, sysCOPPT+"|"+nextID())
	case x < 0.5:
		out.Identifiers = append(out.Identifiers, sysCOPEP+"|"+nextID())
	}
	if r.Float64() < 0.8 {
		out.Nationality = []string{p.nat}
	}
	if r.Float64() < 0.6 {
		out.BirthPlace = p.birthPlace
	}
	if r.Float64() < 0.85 {
		out.Mother = p.mother
	}
	return out
}

// sighting writes p down as the next country's registry does, with the
// corruptions seen on the route.
func sighting(r *rand.Rand, p synthPerson, nextID func() string) Person {
	out := Person{Country: "EC", Sex: p.sex}
	if r.IntN(2) == 0 {
		out.Country = "PE"
	}
	given := append([]string(nil), p.given...)
	family := append([]string(nil), p.family...)
	if len(given) == 2 && r.Float64() < 0.25 {
		given = given[:1] // second given name dropped
	} else if len(given) == 1 && strings.Contains(given[0], " ") && r.Float64() < 0.15 {
		given = strings.Fields(given[0])[:1] // "María José" -> "María"
	}
	switch x := r.Float64(); {
	case x < 0.10:
		family[0], family[1] = family[1], family[0]
	case x < 0.25:
		family = family[:1] // second surname dropped
	case x < 0.28:
		family = family[1:] // first surname dropped
	}
	if r.Float64() < 0.15 {
		typo(r, given, family)
	}
	if r.Float64() < 0.03 {
		for i, f := range family { // "De la Cruz" -> "Delacruz"
			family[i] = strings.ReplaceAll(strings.ToLower(f), " ", "")
		}
	}
	name := Name{Given: given, Family: []string{strings.Join(family, " ")}}
	if r.Float64() < 0.1 && len(family) == 2 {
		name.Family = []string{family[0] + "-" + family[1]}
	}
	out.Names = []Name{name}

	out.BirthDate = p.birth.Format(time.DateOnly)
	switch x := r.Float64(); {
	case x < 0.06 && p.birth.Day() <= 12 && p.birth.Day() != int(p.birth.Month()):
		out.BirthDate = fmt.Sprintf("%d-%02d-%02d", p.birth.Year(), p.birth.Day(), p.birth.Month())
	case x < 0.13:
		out.BirthDate = p.birth.Format("2006")
	case x < 0.16:
		out.BirthDate = p.birth.Format("2006-01")
	case x < 0.19:
		out.BirthDate = p.birth.AddDate(0, 0, 1-2*r.IntN(2)).Format(time.DateOnly)
	case x < 0.21:
		b := []byte(out.BirthDate)
		b[9] = byte('0' + (int(b[9]-'0')+1+r.IntN(8))%10)
		out.BirthDate = string(b) // a wrong last digit
	case x < 0.23:
		out.BirthDate = ""
	}
	switch x := r.Float64(); {
	case x < 0.01:
		out.Sex = map[string]string{"male": "female", "female": "male"}[p.sex]
	case x < 0.03:
		out.Sex = ""
	}
	if p.cedula != "" && r.Float64() < 0.5 {
		v := p.cedula
		if r.Float64() < 0.05 { // one digit wrong: a conflict, not a match
			b := []byte(v)
			b[3] = byte('0' + (int(b[3]-'0')+1)%10)
			v = string(b)
		}
		out.Identifiers = append(out.Identifiers, sysVECedula+"|"+v)
	}
	if r.Float64() < 0.4 {
		sys := sysECVisa
		if out.Country == "PE" {
			sys = sysPECPP
		}
		out.Identifiers = append(out.Identifiers, sys+"|"+nextID())
	}
	if r.Float64() < 0.7 {
		out.Nationality = []string{p.nat}
	}
	if r.Float64() < 0.5 {
		out.BirthPlace = p.birthPlace
	}
	if r.Float64() < 0.7 {
		m := Name{Given: p.mother.Given, Family: p.mother.Family}
		if r.Float64() < 0.3 {
			m.Family = m.Family[:1]
		}
		if r.Float64() < 0.3 {
			m.Given = m.Given[:1]
		}
		out.Mother = m
	}
	// Whole-record habits of the registry: no accents, capitals.
	if r.Float64() < 0.5 {
		out = mapNames(out, stripAccents)
	}
	if r.Float64() < 0.25 {
		out = mapNames(out, strings.ToUpper)
	}
	return out
}

// typo changes one letter of one name token: a substitution, a deletion, an
// insertion or two adjacent letters swapped.
func typo(r *rand.Rand, given, family []string) {
	all := append(append([]string(nil), given...), family...)
	i := r.IntN(len(all))
	w := []rune(all[i])
	if len(w) < 4 {
		return
	}
	j := 1 + r.IntN(len(w)-2)
	switch r.IntN(4) {
	case 0:
		w[j] = rune("aeioulnrst"[r.IntN(10)])
	case 1:
		w = append(w[:j], w[j+1:]...)
	case 2:
		w = append(w[:j], append([]rune{w[j]}, w[j:]...)...)
	case 3:
		w[j], w[j+1] = w[j+1], w[j]
	}
	if i < len(given) {
		given[i] = string(w)
	} else {
		family[i-len(given)] = string(w)
	}
}

func mapNames(p Person, f func(string) string) Person {
	each := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = f(s)
		}
		return out
	}
	for i, n := range p.Names {
		p.Names[i] = Name{Given: each(n.Given), Family: each(n.Family)}
	}
	p.Mother = Name{Given: each(p.Mother.Given), Family: each(p.Mother.Family)}
	return p
}

func stripAccents(s string) string {
	out, _, _ := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), s)
	return out
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
