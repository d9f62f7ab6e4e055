package mongo

import (
	"context"
	"fmt"

	"contigo/records"
)

// pgExact answers Patient query q in cc, one page of n (0: the total
// alone), from the terms PostgreSQL keeps (pgpatientterms.go), when it
// can: on FerretDB-PostgreSQL with the heads read from PostgreSQL, for a
// query in id order whose terms say exactly which Patients match
// (exactTerms). ok is false when it cannot (another engine or query, the
// terms not kept yet, or a page that disagrees with its query): the search
// then takes the general path.
func (s *Store) pgExact(ctx context.Context, cc records.Country, q records.Query, n int) (page records.Page, ok bool, err error) {
	if s.pg == nil || !s.pg.hosts(cc) || q.Type != "Patient" || len(q.Sort) > 0 || !exactTerms(q) {
		return records.Page{}, false, nil
	}
	var groups [][]string
	for _, g := range queryTerms(q) {
		if len(g.Terms) == 0 {
			return records.Page{}, false, nil
		}
		groups = append(groups, g.Terms)
	}
	if len(groups) == 0 {
		return records.Page{}, false, nil
	}
	after := ""
	if q.After != "" {
		c, err := records.ParseCursor(q.After)
		if err != nil {
			return records.Page{}, false, fmt.Errorf("search Patient: %w", err)
		}
		after = c.ID
	}
	ep, kept, err := s.pg.exactPatients(ctx, cc, groups, after, n)
	if err != nil || !kept {
		return records.Page{}, false, err
	}
	page = records.Page{Total: ep.total, Resources: make([]records.Resource, 0, min(n, len(ep.raws)))}
	for _, raw := range ep.raws[:min(n, len(ep.raws))] {
		r, err := decodeResource(raw)
		if raw == "" || err != nil || r.Deleted || !records.Match(r, q.Conds) {
			return records.Page{}, false, nil
		}
		page.Resources = append(page.Resources, r)
	}
	if len(ep.ids) > n && n > 0 {
		page.Next = records.Cursor{ID: ep.ids[n-1]}.String()
	}
	return page, true, nil
}
