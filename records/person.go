package records

import (
	"crypto/rand"
	"strings"
	"time"
)

// Keys are a resource's search-parameter values, normalised by the fhir
// package: parameter name -> values. A Cond on a key matches when any value
// satisfies it. Well-known keys: "identifier" ("system|value"), "name",
// "family", "given" (lower case, accents removed), "birthdate", "date"
// (ISO 8601, as sortable strings), "gender", "subject" ("Patient/<id>"),
// "code" and "category" ("system|code" and "|code"... as fhir defines),
// "status".
type Keys map[string][]string

// Resource is one version of one FHIR resource in a person's record. Body is
// the FHIR JSON with id and meta already set; records never parses it.
type Resource struct {
	Type    string    // FHIR resource type, e.g. "Observation"
	ID      string    // logical id
	Version int64     // meta.versionId, from 1
	Updated time.Time // meta.lastUpdated, UTC, millisecond precision
	Deleted bool      // this version marks a deletion; Body is empty
	Body    []byte    // FHIR JSON
	Keys    Keys      // search keys of this version
}

// Person is the whole longitudinal record of one person in one country: the
// Patient and every resource about them, in every version, oldest first:
// the fold of the record's commits (Apply). Every write is one commit, so
// it is atomic.
type Person struct {
	ID        string    // the Patient's logical id
	Country   Country   // the country whose node holds the record
	Version   int64     // record version, +1 on every change: the store's optimistic lock
	Created   time.Time // first write
	Updated   time.Time // last write
	Resources []Resource
	Txns      []Txn // applied transaction bundles, for idempotent retries
	// Nutrition is the person's nutrition state (records/nutrition.State as
	// JSON), kept by the ServiceOptions.OnWrite hook; nil if never assessed.
	Nutrition []byte
	// NutritionDigest is the indicator digest of Nutrition
	// (records/nutrition.DigestOf), when the hook that set Nutrition
	// computed it; nil means a store computes it from Nutrition. It is
	// never stored: whoever sets Nutrition sets it too (nil if unknown).
	NutritionDigest []byte
}

// Txn remembers one applied transaction so that a retry of the same request
// returns the same answer instead of writing twice.
type Txn struct {
	Key      string    // idempotency key (a hash of the request, or a client-sent key)
	At       time.Time // when it was applied
	Response []byte    // the response body that was returned
}

// Current returns the newest version of resource typ/id, including a
// deletion marker; ok is false if the record never held it.
func (p *Person) Current(typ, id string) (r Resource, ok bool) {
	for i := len(p.Resources) - 1; i >= 0; i-- {
		if p.Resources[i].Type == typ && p.Resources[i].ID == id {
			return p.Resources[i], true
		}
	}
	return Resource{}, false
}

// Versions returns every version of typ/id, oldest first.
func (p *Person) Versions(typ, id string) []Resource {
	var out []Resource
	for _, r := range p.Resources {
		if r.Type == typ && r.ID == id {
			out = append(out, r)
		}
	}
	return out
}

// Latest returns the newest version of every resource in the record that is
// not deleted, in the order the resources were first created.
func (p *Person) Latest() []Resource {
	type key struct{ typ, id string }
	idx := make(map[key]int, len(p.Resources))
	out := make([]Resource, 0, len(p.Resources))
	for _, r := range p.Resources {
		k := key{r.Type, r.ID}
		if i, ok := idx[k]; ok {
			out[i] = r
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	live := out[:0]
	for _, r := range out {
		if !r.Deleted {
			live = append(live, r)
		}
	}
	return live
}

// Patient returns the current Patient resource of the record.
func (p *Person) Patient() (Resource, bool) { return p.Current("Patient", p.ID) }

// Identifiers returns the identifiers ("system|value") of the current Patient.
func (p *Person) Identifiers() []string {
	r, ok := p.Patient()
	if !ok || r.Deleted {
		return nil
	}
	return r.Keys["identifier"]
}

// NewID returns a new random logical id: 26 characters of lower-case base32,
// valid as a FHIR id.
func NewID() string {
	return strings.ToLower(rand.Text())
}

// NewResourceID returns a new id for a resource in the record of personID.
// The person's id is its prefix, so that any resource can be found by an
// _id lookup of its person: "<personID>.<random>".
func NewResourceID(personID string) string {
	return personID + "." + strings.ToLower(rand.Text()[:12])
}

// PersonOf returns the person id that resource id typ/id belongs to.
func PersonOf(typ, id string) string {
	if typ == "Patient" {
		return id
	}
	if i := strings.IndexByte(id, '.'); i > 0 {
		return id[:i]
	}
	return ""
}
