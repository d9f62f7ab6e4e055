package mongo

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

// decodeCases are resources whose documents unmarshal must read as
// encoding/json does: escapes, HTML characters, line separators, non-ASCII
// text, a deletion, empty and nil keys, times in other zones.
func decodeCases() []records.Resource {
	at := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	return []records.Resource{
		{Type: "Patient", ID: "p1", Version: 3, Updated: at,
			Body: []byte(`{"resourceType":"Patient","name":[{"family":"García \"la\" <b>&</b> \\ ñ 😀 \u2028"}]}`),
			Keys: records.Keys{"family": {"garcia"}, "given": {"ana", "maria"}, "identifier": {"https://x.example/id|CO-1", "|CO-1"}}},
		{Type: "Observation", ID: "p1.o2", Version: 1, Updated: at.In(time.FixedZone("COT", -5*3600)), Body: []byte(`{}`), Keys: records.Keys{}},
		{Type: "Flag", ID: "p1.nf0", Version: 9, Updated: at, Deleted: true},
		{Type: "Encounter", ID: "p1.e\t1", Version: 1 << 40, Updated: at, Body: []byte("{\"a\":\"\\u0000\\u001f\"}"), Keys: records.Keys{"k": nil, "date": {""}}},
	}
}

// TestUnmarshalEqualsEncodingJSON: the resource documents, lists of
// strings and resources decoded with github.com/goccy/go-json
// (decodeResourceDoc, decodeStrings, decodeResource) are those
// encoding/json reads.
func TestUnmarshalEqualsEncodingJSON(t *testing.T) {
	var list []string
	for _, r := range decodeCases() {
		raw, err := encodeResource(r)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, raw)
		checkUnmarshal(t, []byte(raw))
		want := r
		want.Updated = r.Updated.UTC()
		if len(want.Body) == 0 {
			want.Body = nil // omitted when empty
		}
		if len(want.Keys) == 0 {
			want.Keys = nil // likewise
		}
		got, err := decodeResource(raw)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s/%s (-resource +decoded):\n%s", r.Type, r.ID, diff)
		}
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got, err := decodeStrings(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list of documents (-encoding/json +unmarshal):\n%s", diff)
	}
}

// checkUnmarshal fails t unless data decodes into a resourceDoc the same
// way with decodeResourceDoc as with encoding/json, when encoding/json
// accepts it.
func checkUnmarshal(t *testing.T, data []byte) {
	t.Helper()
	var want resourceDoc
	if json.Unmarshal(data, &want) != nil {
		return
	}
	got, err := decodeResourceDoc(string(data))
	if err != nil {
		t.Fatalf("%q: encoding/json reads it, decodeResourceDoc: %v", data, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%q (-encoding/json +decodeResourceDoc):\n%s", data, diff)
	}
}

// FuzzUnmarshalResourceDoc: whatever encoding/json reads as a resource
// document, decodeResourceDoc reads the same, for valid UTF-8: what
// encoding/json writes, and so all it is given. (Of invalid UTF-8 in a string,
// encoding/json makes U+FFFD and go-json keeps the bytes: the corpus
// keeps such an input, which the fuzz skips.)
func FuzzUnmarshalResourceDoc(f *testing.F) {
	for _, r := range decodeCases() {
		raw, err := encodeResource(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if utf8.Valid(data) {
			checkUnmarshal(t, data)
		}
	})
}

// TestDecodedStringsOwnTheirMemory keeps one search key and the id of each
// of 2,000 decoded documents whose bodies are 20 kB: go-json's views of its
// copy of the input would keep 40 MB alive, the copies a few hundred kB.
// (Not parallel: it reads the heap.)
func TestDecodedStringsOwnTheirMemory(t *testing.T) {
	r := records.Resource{Type: "Patient", ID: "p1", Version: 1, Updated: time.Now(),
		Body: []byte(`{"a":"` + strings.Repeat("x", 20_000) + `"}`), Keys: records.Keys{"family": {"garcia"}}}
	raw, err := encodeResource(r)
	if err != nil {
		t.Fatal(err)
	}
	list, err := json.Marshal([]string{"garcia", strings.Repeat("y", 20_000)})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var kept []string
	for range 2000 {
		d, err := decodeResource(raw)
		if err != nil {
			t.Fatal(err)
		}
		l, err := decodeStrings(string(list))
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, d.ID, d.Keys["family"][0], l[0])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("keeping %d short strings kept %d MB", len(kept), grew>>20)
	}
	runtime.KeepAlive(kept)
}
