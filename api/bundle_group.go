package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// plainCreate reports whether batch item it is a create that may share one
// write with its person's neighbours: a parsed POST of a resource other
// than Patient, without ifNoneExist.
func plainCreate(it batchItem) bool {
	return it.err == nil && it.entry.Method == http.MethodPost && it.entry.IfNoneExist == "" && it.entry.Type != "Patient"
}

// applyGroup applies one person's batch entries (indexes idx of items, in
// Bundle order) and puts their outcomes in results. A run of two or more
// consecutive plain creates is written as one write (one commit instead of
// one per entry: what makes a batch of many measurements per person
// cheap); if that write is refused, or for any other entry, each entry is
// applied on its own, so that a bad entry still fails alone and the others
// succeed.
func (s *Server) applyGroup(c echo.Context, items []batchItem, idx []int, results []fhir.EntryResult) {
	for k := 0; k < len(idx); {
		end := k
		for end < len(idx) && plainCreate(items[idx[end]]) {
			end++
		}
		if end-k >= 2 && s.createRun(c, items, idx[k:end], results) {
			k = end
			continue
		}
		end = max(end, k+1)
		for _, i := range idx[k:end] {
			results[i] = s.batchResult(c, i, items[i])
		}
		k = end
	}
}

// createRun writes the plain creates run (indexes of items, all about one
// person) in one write, all or nothing, and reports whether it did; on
// false it stored nothing and set no result.
func (s *Server) createRun(c echo.Context, items []batchItem, run []int, results []fhir.EntryResult) bool {
	ctx, cc := c.Request().Context(), country(c)
	pid := fhir.Subject(items[run[0]].entry.Resource)
	if pid == "" {
		return false
	}
	w := records.Write{PersonID: pid, Changes: make([]records.Change, 0, len(run))}
	rs := make([]records.Resource, 0, len(run))
	for _, i := range run {
		res := items[i].entry.Resource
		if fhir.Subject(res) != pid || refuseServerOwned(res, "", "") != nil {
			return false
		}
		res.ID = records.NewResourceID(pid)
		rs = append(rs, res)
		w.Changes = append(w.Changes, records.Change{Method: "create", Resource: res})
	}
	if s.checkReferences(ctx, cc, rs, nil, nil) != nil {
		return false
	}
	out, err := s.records.Write(ctx, cc, w)
	if err != nil || len(out.Applied) != len(run) {
		return false // each entry again on its own, to say which one is wrong
	}
	for k, i := range run {
		results[i] = fhir.EntryResult{Status: http.StatusCreated, Resource: out.Applied[k]}
	}
	return true
}
