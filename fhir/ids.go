package fhir

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"

	"contigo/records"
)

// derivedID returns n lower-case base32 characters of sha256(key, name):
// the same inputs give the same id, as records.NewID's alphabet.
func derivedID(key, name string, n int) string {
	h := sha256.Sum256([]byte(key + "\x00" + name))
	return strings.ToLower(base32.StdEncoding.EncodeToString(h[:]))[:n]
}

// AssignIDs gives every POST entry a deterministic id derived from key and
// its fullUrl (or its position when it has none), so that a retried upload
// gets the same ids: 26 characters for a Patient, "<personID>.<12
// characters>" for anything else (as records.NewResourceID). matched maps
// the indexes of entries whose conditional create (IfNoneExist) found an
// existing resource to it ("Type/id"): those entries create nothing and
// references to them point at the existing resource. Then every reference
// to an entry's fullUrl is rewritten to "Type/id", in bodies and Keys, and
// each entry's PersonID is set. Errors are *records.FieldError: a
// reference that still does not resolve, a subject that does not match the
// person of an updated resource.
func AssignIDs(b *Bundle, key string, matched map[int]string) error {
	refs := map[string]string{} // fullUrl -> Type/id
	name := func(i int) string {
		if u := b.Entries[i].FullURL; u != "" {
			return u
		}
		return "#" + strconv.Itoa(i)
	}
	for i := range b.Entries {
		e := &b.Entries[i]
		if ex, ok := matched[i]; ok {
			typ, id, _ := strings.Cut(ex, "/")
			if e.Method != "POST" || typ != e.Type || !validID(id) {
				return fmt.Errorf("assign ids: entry %d: matched %q is not a %s: %w", i, ex, e.Type, records.ErrInvalid)
			}
			e.Existing, e.ID = ex, id
		} else if e.Method == "POST" && e.Type == "Patient" {
			e.ID = derivedID(key, name(i), 26)
		}
		if e.ID != "" && e.FullURL != "" {
			refs[e.FullURL] = e.Type + "/" + e.ID
		}
	}
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Method != "POST" || e.Existing != "" || e.Type == "Patient" {
			continue
		}
		person, err := personOf(e.Resource, refs)
		if err != nil {
			return inEntry(err, i, e.Type)
		}
		e.ID = person + "." + derivedID(key, name(i), 12)
		if e.FullURL != "" {
			refs[e.FullURL] = e.Type + "/" + e.ID
		}
	}
	for i := range b.Entries {
		if err := b.rewrite(i, refs); err != nil {
			return err
		}
	}
	return nil
}

// personOf returns the person a new resource is about, resolving a
// urn:uuid subject through refs.
func personOf(r records.Resource, refs map[string]string) (string, error) {
	for _, s := range r.Keys["subject"] {
		if to, ok := refs[s]; ok {
			s = to
		}
		if id, ok := strings.CutPrefix(s, "Patient/"); ok {
			return id, nil
		}
	}
	return "", invalidAt(subjectPath(r.Type), "the subject must be a Patient in this Bundle or on the server")
}

// subjectPath returns the FHIRPath of the person reference of typ.
func subjectPath(typ string) string {
	if typ == "EpisodeOfCare" || typ == "Consent" {
		return typ + ".patient"
	}
	return typ + ".subject"
}

// rewrite replaces the fullUrl references of entry i, re-parses it for its
// Keys and sets its ids.
func (b *Bundle) rewrite(i int, refs map[string]string) error {
	e := &b.Entries[i]
	switch {
	case e.Existing != "":
		e.PersonID = records.PersonOf(e.Type, e.ID)
		return nil
	case e.Resource.Body == nil:
		e.PersonID = records.PersonOf(e.Type, e.ID)
		return nil
	}
	tree, err := decodeJSON(e.Resource.Body, e.Type)
	if err != nil {
		return err
	}
	eachReference(tree, e.Type, func(_, ref string) string {
		if to, ok := refs[ref]; ok {
			return to
		}
		return ref
	})
	body, err := canonical(tree.(map[string]any))
	if err != nil {
		return fmt.Errorf("assign ids: entry %d: %w", i, err)
	}
	r, _, err := parse(body, e.Type, b.now, false)
	if err != nil {
		return inEntry(err, i, e.Type)
	}
	r.ID = e.ID
	e.Resource = r
	e.PersonID = Subject(r)
	if e.Method == "PUT" && e.Type != "Patient" && e.PersonID != records.PersonOf(e.Type, e.ID) {
		return inEntry(invalidAt(subjectPath(e.Type), "a resource cannot move to another person's record"), i, e.Type)
	}
	return nil
}
