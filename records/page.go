package records

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
)

// DefaultCount is the page size of a search that does not set Query.Count.
const DefaultCount = 50

// MaxCount bounds the page size of a search.
const MaxCount = 1000

// Cursor is the position after which the next page of a search starts: the
// sort values and the id of the last resource of the page before. Paging by
// position rather than by offset keeps pages correct while others write.
type Cursor struct {
	Values []string `json:"v,omitempty"`
	ID     string   `json:"i"`
}

// String encodes c as an opaque token for Query.After and Page.Next.
func (c Cursor) String() string {
	b, _ := json.Marshal(c) // a struct of strings always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a token made by Cursor.String; ErrMalformed if s is
// not one.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return Cursor{}, &FieldError{Field: "_cursor", Reason: "not a cursor this server issued", Kind: ErrMalformed}
	}
	if len(c.Values) == 0 {
		c.Values = nil
	}
	return c, nil
}

// PageSize returns the page size q asks for, DefaultCount if none, at most
// MaxCount.
func (q Query) PageSize() int {
	switch {
	case q.Count <= 0:
		return DefaultCount
	case q.Count > MaxCount:
		return MaxCount
	}
	return q.Count
}

// SortValues returns r's position under sort: per key, the smallest value
// for an ascending key and the largest for a descending one ("" when r has
// none).
func SortValues(r Resource, sort []SortKey) []string {
	if len(sort) == 0 {
		return nil
	}
	out := make([]string, len(sort))
	for i, k := range sort {
		vs := KeyValues(r, k.Key)
		if len(vs) == 0 {
			continue
		}
		if k.Desc {
			out[i] = slices.Max(vs)
		} else {
			out[i] = slices.Min(vs)
		}
	}
	return out
}

// comparePos orders two positions under sort; ids break ties, ascending.
func comparePos(sort []SortKey, av []string, aid string, bv []string, bid string) int {
	for i, k := range sort {
		var a, b string
		if i < len(av) {
			a = av[i]
		}
		if i < len(bv) {
			b = bv[i]
		}
		if c := cmp.Compare(a, b); c != 0 {
			if k.Desc {
				return -c
			}
			return c
		}
	}
	return cmp.Compare(aid, bid)
}

// Paginate sorts matches by q.Sort (then id), and returns the page of
// q.PageSize() resources after q.After, with Total set to len(matches).
// ErrMalformed if q.After is not a cursor. matches is reordered.
func Paginate(matches []Resource, q Query) (Page, error) {
	type pos struct {
		v []string
		r Resource
	}
	ps := make([]pos, len(matches))
	for i, r := range matches {
		ps[i] = pos{SortValues(r, q.Sort), r}
	}
	slices.SortFunc(ps, func(a, b pos) int { return comparePos(q.Sort, a.v, a.r.ID, b.v, b.r.ID) })
	start := 0
	if q.After != "" {
		c, err := ParseCursor(q.After)
		if err != nil {
			return Page{}, fmt.Errorf("paginate: %w", err)
		}
		start, _ = slices.BinarySearchFunc(ps, c, func(p pos, c Cursor) int {
			if comparePos(q.Sort, p.v, p.r.ID, c.Values, c.ID) <= 0 {
				return -1
			}
			return 1
		})
	}
	n := q.PageSize()
	page := Page{Total: int64(len(matches)), Resources: []Resource{}}
	for i := start; i < len(ps) && len(page.Resources) < n; i++ {
		page.Resources = append(page.Resources, ps[i].r)
	}
	if start+n < len(ps) {
		last := ps[start+n-1]
		page.Next = Cursor{Values: last.v, ID: last.r.ID}.String()
	}
	return page, nil
}
