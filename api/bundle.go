package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// handleBundle serves POST /fhir with a batch or transaction Bundle.
func (s *Server) handleBundle(c echo.Context) error {
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	if err := fhir.CheckJSON(body, "Bundle"); err != nil {
		return err // not even a batch can be read entry by entry
	}
	b, err := fhir.ParseBundle(body, s.now())
	if err != nil {
		if entries, ok := batchEntries(body); ok {
			// One bad entry must not sink a batch: parse entry by entry.
			auditOf(c).interaction = "batch"
			return s.batch(c, s.parseBatch(entries))
		}
		return err
	}
	a := auditOf(c)
	a.interaction, a.resourceType = b.Type, "Bundle"
	switch b.Type {
	case "transaction":
		return s.transaction(c, b)
	case "batch":
		items := make([]batchItem, len(b.Entries))
		for i, e := range b.Entries {
			items[i].entry = e
		}
		return s.batch(c, items)
	}
	return &records.FieldError{Field: "Bundle.type", Reason: "POST /fhir takes a batch or transaction Bundle"}
}

// transaction applies a transaction Bundle to one person's record, all or
// nothing, idempotently (the first entry that touches a second person is
// 422, fhir.TransactionOnePerson): a retry of the same Bundle (same identifier, or
// same bytes) changes nothing and gets the first answer again.
func (s *Server) transaction(c echo.Context, b *fhir.Bundle) error {
	ctx, cc := c.Request().Context(), country(c)
	matched := map[int]string{}
	unless := map[int]*records.Query{} // the conditions that matched nothing
	for i, e := range b.Entries {
		switch e.Method {
		case http.MethodPost:
			if e.IfNoneExist == "" {
				continue
			}
			existing, found, q, err := s.conditional(ctx, cc, e.Type, e.IfNoneExist)
			if err != nil {
				return fmt.Errorf("Bundle.entry[%d].request.ifNoneExist: %w", i, err)
			}
			if found {
				matched[i] = e.Type + "/" + existing.ID
			} else {
				unless[i] = q
			}
		case http.MethodPut:
		case http.MethodDelete:
			if e.Type == "Patient" {
				return &records.FieldError{Field: fmt.Sprintf("Bundle.entry[%d].request.url", i), Reason: "a Patient is deleted on its own (DELETE /fhir/Patient/{id}), once its record holds nothing else"}
			}
		default:
			return &records.FieldError{Field: fmt.Sprintf("Bundle.entry[%d].request.method", i), Reason: "a transaction here may only POST, PUT and DELETE; use a batch to read"}
		}
	}
	key := b.TxnKey()
	if err := fhir.AssignIDs(b, key, matched); err != nil {
		return err
	}
	w := records.Write{TxnKey: key, Respond: func(applied []records.Resource) ([]byte, error) {
		return fhir.TransactionResponse(b, applied)
	}}
	var (
		rs      []records.Resource
		paths   []string
		pending = map[string]bool{}
		first   = -1 // the first entry written: its person (w.PersonID) is the transaction's
	)
	// Every server-owned entry is named at once, so a client fixes them in
	// one round trip.
	var owned []error
	for i, e := range b.Entries {
		if e.Existing != "" {
			continue
		}
		r := e.Resource
		r.Type, r.ID = e.Type, e.ID
		if err := refuseServerOwned(r, r.ID, fmt.Sprintf("Bundle.entry[%d].resource", i)); err != nil {
			owned = append(owned, err)
		}
	}
	if err := issues(owned); err != nil {
		return err
	}
	for i, e := range b.Entries {
		if e.Existing != "" {
			continue
		}
		r := e.Resource
		r.Type, r.ID = e.Type, e.ID
		path := fmt.Sprintf("Bundle.entry[%d].resource", i)
		if first < 0 {
			first, w.PersonID = i, e.PersonID
		} else if e.PersonID != w.PersonID {
			return &records.FieldError{Field: fmt.Sprintf("Bundle.entry[%d]", i),
				Reason: fmt.Sprintf("this entry belongs to another person's record than Bundle.entry[%d]: %s", first, fhir.TransactionOnePerson)}
		}
		switch e.Method {
		case http.MethodPost:
			if r.Type == "Patient" {
				w.NewPerson = true
			}
			pending[r.Type+"/"+r.ID] = true
			w.Changes = append(w.Changes, records.Change{Method: "create", Resource: r})
		case http.MethodPut:
			if r.Type != "Patient" && fhir.Subject(r) != e.PersonID {
				return &records.FieldError{Field: path + "." + subjectPath(r.Type)[len(r.Type)+1:], Reason: "a resource cannot move to another Patient's record"}
			}
			w.Changes = append(w.Changes, records.Change{Method: "update", Resource: r, IfMatch: e.IfMatch})
		case http.MethodDelete:
			w.Changes = append(w.Changes, records.Change{Method: "delete", Resource: records.Resource{Type: r.Type, ID: r.ID}, IfMatch: e.IfMatch})
			continue
		}
		rs, paths = append(rs, r), append(paths, path)
	}
	a := auditOf(c)
	a.personID = w.PersonID
	if len(w.Changes) == 0 { // every entry matched an existing resource
		body, err := fhir.TransactionResponse(b, nil)
		if err != nil {
			return err
		}
		return writeBundle(c, http.StatusOK, body)
	}
	if err := s.checkReferences(ctx, cc, rs, pending, paths); err != nil {
		return err
	}
	if w.NewPerson {
		// A retry after a lost answer finds the record it created: let the
		// Service replay the stored response for the same TxnKey.
		if _, err := s.records.Person(ctx, cc, w.PersonID); err == nil {
			w.NewPerson = false
		} else if !errors.Is(err, records.ErrNotFound) {
			return err
		}
	}
	if !w.NewPerson && len(unless) > 0 {
		w.Guard = stillUnmatched(unless)
	}
	res, err := s.records.Write(ctx, cc, w)
	if err != nil {
		return err
	}
	return writeBundle(c, http.StatusOK, res.Response)
}

// stillUnmatched returns the guard of a transaction whose conditional
// creates (Bundle.entry[i] by i) matched nothing when they were searched:
// the record as the write reads it must not hold a match either. One that
// does was created meanwhile (another upload of the same measurement):
// the transaction stores nothing and answers 409, and sent again it finds
// the match.
func stillUnmatched(unless map[int]*records.Query) func(*records.Person) error {
	return func(before *records.Person) error {
		latest := before.Latest()
		for _, i := range slices.Sorted(maps.Keys(unless)) {
			if r, ok := firstMatch(latest, unless[i]); ok {
				return &records.FieldError{Field: fmt.Sprintf("Bundle.entry[%d].request.ifNoneExist", i), Kind: records.ErrConflict,
					Reason: r.Type + "/" + r.ID + " was created meanwhile and matches this condition: send the transaction again"}
			}
		}
		return nil
	}
}

// batchEntries returns the raw entries of body if it is a batch Bundle.
func batchEntries(body []byte) ([]json.RawMessage, bool) {
	var raw struct {
		ResourceType string            `json:"resourceType"`
		Type         string            `json:"type"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.ResourceType != "Bundle" || raw.Type != "batch" {
		return nil, false
	}
	return raw.Entry, true
}

// parseBatch parses each entry of a batch as a Bundle of its own, so that
// an entry that does not parse fails alone, located in the whole Bundle.
func (s *Server) parseBatch(raw []json.RawMessage) []batchItem {
	items := make([]batchItem, len(raw))
	for i, r := range raw {
		one := append(append([]byte(`{"resourceType":"Bundle","type":"batch","entry":[`), r...), ']', '}')
		b, err := fhir.ParseBundle(one, s.now())
		switch {
		case err != nil:
			if fes := fieldErrors(err); len(fes) > 0 {
				// every broken rule of the entry, located in the whole Bundle
				located := make([]error, len(fes))
				for j, fe := range fes {
					loc := *fe
					loc.Field = strings.Replace(loc.Field, "Bundle.entry[0]", fmt.Sprintf("Bundle.entry[%d]", i), 1)
					located[j] = &loc
				}
				err = errors.Join(located...)
				if len(located) == 1 {
					err = located[0]
				}
			}
			items[i].err = err
		case len(b.Entries) != 1:
			items[i].err = &records.FieldError{Field: fmt.Sprintf("Bundle.entry[%d]", i), Reason: "not a Bundle entry"}
		default:
			items[i].entry = b.Entries[0]
		}
	}
	return items
}

// batchItem is one parsed batch entry, or why it does not parse.
type batchItem struct {
	entry fhir.Entry
	err   error
}

// batchWorkers bounds how many persons' entries of one batch are applied
// at once.
const batchWorkers = 8

// batch applies each entry of a batch Bundle on its own; the response holds
// one outcome per entry, and the request succeeds even if entries fail.
// Entries are grouped by the person whose record they touch: one person's
// entries apply in Bundle order, different persons' in parallel (at most
// batchWorkers at once), so that a bulk load of many persons is not one
// write after the other; a person's consecutive creates share one write
// (applyGroup).
func (s *Server) batch(c echo.Context, items []batchItem) error {
	a := auditOf(c)
	results := make([]fhir.EntryResult, len(items))
	groups := map[string][]int{}
	var order []string
	for i, it := range items {
		k := batchGroup(it, i)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	work := make(chan []int)
	var wg sync.WaitGroup
	for range min(batchWorkers, len(order)) {
		wg.Go(func() {
			for idx := range work {
				s.applyGroup(c, items, idx, results)
			}
		})
	}
	for _, k := range order {
		work <- groups[k]
	}
	close(work)
	wg.Wait()
	for i, res := range results {
		if res.Err == nil && res.Resource.ID != "" {
			a.disclosed = append(a.disclosed, disclosureOf(items[i].entry.Method, res.Resource, res.Status))
		}
	}
	body, err := fhir.BatchResponse(results)
	if err != nil {
		return err
	}
	return writeBundle(c, http.StatusOK, body)
}

// batchGroup names the record batch entry i touches: entries of one
// record apply in order. A new Patient, a conditional entry and an entry
// that did not parse are groups of their own (a conditional entry of a
// record named elsewhere in the batch may race it, as two requests would).
func batchGroup(it batchItem, i int) string {
	if it.err == nil {
		e := it.entry
		pid := records.PersonOf(e.Type, e.ID)
		if pid == "" && e.Method == http.MethodPost && e.Type != "Patient" {
			pid = fhir.Subject(e.Resource)
		}
		if pid != "" {
			return "p:" + pid
		}
	}
	return "e:" + strconv.Itoa(i)
}

// batchResult applies batch item i and returns its outcome.
func (s *Server) batchResult(c echo.Context, i int, it batchItem) fhir.EntryResult {
	ctx, cc := c.Request().Context(), country(c)
	res, err := fhir.EntryResult{}, it.err
	if err == nil {
		res, err = s.batchEntry(ctx, cc, it.entry)
	}
	if err != nil {
		status, _, _, _ := classify(err)
		if status == http.StatusInternalServerError {
			s.log.ErrorContext(ctx, "batch entry", "request_id", requestID(c), "entry", i, "err", err)
			err = errors.New("internal error; request id " + requestID(c))
		}
		res = fhir.EntryResult{Status: status, Err: err}
	}
	return res
}

// batchEntry applies one batch entry.
func (s *Server) batchEntry(ctx context.Context, cc records.Country, e fhir.Entry) (fhir.EntryResult, error) {
	switch e.Method {
	case http.MethodPost:
		var unless *records.Query
		if e.IfNoneExist != "" {
			existing, found, query, err := s.conditional(ctx, cc, e.Type, e.IfNoneExist)
			if err != nil {
				return fhir.EntryResult{}, err
			}
			if found {
				return fhir.EntryResult{Status: http.StatusOK, Resource: existing}, nil
			}
			unless = query
		}
		r, err := s.createUnless(ctx, cc, e.Resource, &auditInfo{}, unless)
		if m := (*matchedError)(nil); errors.As(err, &m) {
			return fhir.EntryResult{Status: http.StatusOK, Resource: m.r}, nil
		}
		return fhir.EntryResult{Status: http.StatusCreated, Resource: r}, err
	case http.MethodPut:
		if e.ID == "" { // conditional update
			_, query, _ := strings.Cut(e.URL, "?")
			r, created, err := s.upsert(ctx, cc, e.Resource, query, e.IfMatch, &auditInfo{})
			if created {
				return fhir.EntryResult{Status: http.StatusCreated, Resource: r}, err
			}
			return fhir.EntryResult{Status: http.StatusOK, Resource: r}, err
		}
		r, err := s.update(ctx, cc, e.Resource, e.ID, e.IfMatch)
		return fhir.EntryResult{Status: http.StatusOK, Resource: r}, err
	case http.MethodDelete:
		id := e.ID
		if id == "" { // conditional delete
			_, query, _ := strings.Cut(e.URL, "?")
			match, found, _, err := s.conditionalMatch(ctx, cc, e.Type, query, "DELETE")
			if err != nil || !found {
				return fhir.EntryResult{Status: http.StatusNoContent}, err
			}
			id = match.ID
		}
		r, err := s.remove(ctx, cc, e.Type, id, e.IfMatch, &auditInfo{})
		return fhir.EntryResult{Status: http.StatusNoContent, Resource: r}, err
	case http.MethodGet:
		if e.ID == "" || !fhir.Readable(e.Type) || e.Type == "AuditEvent" {
			return fhir.EntryResult{}, errorf(records.ErrNotSupported, "a batch here reads single resources (GET Type/id)")
		}
		r, err := s.records.Read(ctx, cc, e.Type, e.ID)
		return fhir.EntryResult{Status: http.StatusOK, Resource: r, Return: true}, err
	}
	return fhir.EntryResult{}, errorf(records.ErrNotSupported, "method %s in a batch", e.Method)
}
