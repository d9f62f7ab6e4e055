package derive

import (
	"bytes"
	"encoding/json"
	"fmt"

	"contigo/records/nutrition"
)

// encodedState is a nutrition state as encoding/json writes it (raw), and
// the part of raw holding its assessments: asm is the comma-joined JSON of
// the first n of them, a sub-slice of raw.
type encodedState struct {
	raw []byte
	asm []byte
	n   int
}

// assessmentsKey opens the assessments in the JSON of a State. Strings in
// JSON escape their quotes, so the key cannot occur inside one.
var assessmentsKey = []byte(`"assessments":[`)

// encodeState returns the JSON of st, byte for byte what json.Marshal(st)
// returns. A state holds every assessment of the person and a visit appends
// one, so the encoding of the assessments that prev encoded is reused when
// st begins with the very same assessments (compared value by value with
// prev's state, never assumed): a visit then encodes what it added, not
// the person's history. prev may be nil.
func encodeState(st *nutrition.State, prev *stateEntry) (encodedState, error) {
	if st.Assessments == nil {
		raw, err := json.Marshal(st)
		if err != nil {
			return encodedState{}, fmt.Errorf("nutrition: encode state: %w", err)
		}
		return encodedState{raw: raw}, nil
	}
	skel := *st
	skel.Assessments = []nutrition.Assessment{}
	head, err := json.Marshal(&skel)
	if err != nil {
		return encodedState{}, fmt.Errorf("nutrition: encode state: %w", err)
	}
	at := bytes.Index(head, assessmentsKey)
	if at < 0 {
		return encodedState{}, fmt.Errorf("nutrition: encode state: no assessments in %.60q", head)
	}
	at += len(assessmentsKey)
	var asm []byte
	from := 0
	if prev != nil && prev.enc.n > 0 && prev.enc.n <= len(st.Assessments) && len(prev.st.Assessments) >= prev.enc.n &&
		sameAssessments(st.Assessments[:prev.enc.n], prev.st.Assessments[:prev.enc.n]) {
		from = prev.enc.n
		asm = prev.enc.asm
	}
	var tail []byte
	for i := from; i < len(st.Assessments); i++ {
		b, err := json.Marshal(&st.Assessments[i])
		if err != nil {
			return encodedState{}, fmt.Errorf("nutrition: encode assessment %d: %w", i, err)
		}
		if i > 0 {
			tail = append(tail, ',')
		}
		tail = append(tail, b...)
	}
	raw := make([]byte, 0, len(head)+len(asm)+len(tail))
	raw = append(raw, head[:at]...)
	raw = append(raw, asm...)
	raw = append(raw, tail...)
	raw = append(raw, head[at:]...)
	return encodedState{raw: raw, asm: raw[at : at+len(asm)+len(tail) : at+len(asm)+len(tail)], n: len(st.Assessments)}, nil
}

// sameAssessments reports whether a and b encode to the same JSON: every
// field equal (floats bit for bit, times with their location).
func sameAssessments(a, b []nutrition.Assessment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Same(&b[i]) {
			return false
		}
	}
	return true
}
