package namekey

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPhonetic(t *testing.T) {
	t.Parallel()
	same := [][]string{
		{"Yépez", "Llepes", "Yepes"},
		{"Jiménez", "Giménez", "Ximénez", "JIMENEZ"},
		{"Javier", "Xavier"},
		{"Vásquez", "Basques", "Vasquez", "Vázquez"},
		{"Souza", "Sousa"},
		{"Thiago", "Tiago"},
		{"Carrillo", "Cariyo"},
		{"Núñez", "Nunes"},
		{"Gonçalves", "Gonsalves"},
		{"Yuleisy", "Yuleisi"},
		{"Jhon", "Jon"},
		{"Guillermo", "Guiyermo"},
		{"Quispe", "Kispe"},
		{"Wilmer", "Vilmer"},
	}
	for _, group := range same {
		want := Phonetic(group[0])
		for _, w := range group[1:] {
			if got := Phonetic(w); got != want {
				t.Errorf("Phonetic(%q) = %q, Phonetic(%q) = %q: want equal", w, got, group[0], want)
			}
		}
	}
	apart := [][2]string{{"García", "Garza"}, {"Ana", "Ada"}, {"Pérez", "Paredes"}, {"Mía", "María"}, {"Luis", "Luisa"}}
	for _, p := range apart {
		if Phonetic(p[0]) == Phonetic(p[1]) {
			t.Errorf("Phonetic(%q) = Phonetic(%q) = %q: want different", p[0], p[1], Phonetic(p[0]))
		}
	}
	if got := Phonetic("--"); got != "" {
		t.Errorf("Phonetic(--) = %q, want empty", got)
	}
}

func TestBlocks(t *testing.T) {
	t.Parallel()
	got := Blocks(PartsOf([]string{"María José"}, []string{"De la Cruz", "Vásquez"}, "2023-05-04"))
	want := []string{
		"gf:maria|krus", "gf:maria|baskes", "gf:jose|krus", "gf:jose|baskes",
		"fp:baskes+krus",
		"gi:maria|c", "gi:maria|v", "gi:jose|c", "gi:jose|v",
		"fd:krus|2023-05-04", "fd:baskes|2023-05-04",
		"gd:maria|2023-05-04", "gd:jose|2023-05-04",
		"fy:krus|2023", "fy:baskes|2023",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Blocks (-want +got):\n%s", diff)
	}
	if got := Blocks(PartsOf(nil, []string{"Quispe"}, "2024")); !cmp.Equal(got, []string{"fy:kispe|2024"}) {
		t.Errorf("Blocks of a surname and a year = %v", got)
	}
	if got := Blocks(PartsOf(nil, nil, "")); len(got) != 0 {
		t.Errorf("Blocks of nothing = %v", got)
	}
}

func FuzzPhonetic(f *testing.F) {
	f.Add("Ximénez")
	f.Add("ññ\u0301x")
	f.Fuzz(func(t *testing.T, s string) {
		c := Phonetic(s)
		if Phonetic(c) == "" && c != "" {
			t.Errorf("code %q of %q has no code", c, s)
		}
	})
}
