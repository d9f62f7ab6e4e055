package records

import (
	"cmp"
	"container/heap"
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

// Paginate returns the page of q.PageSize() resources of matches after
// q.After in the order of q.Sort (then id), with Total set to
// len(matches). ErrMalformed if q.After is not a cursor. It keeps only the
// page's resources while it reads matches (a bounded max-heap), so a page
// of 50 of 100,000 matches costs a pass, not a sort of them all.
func Paginate(matches []Resource, q Query) (Page, error) {
	var after *Cursor
	if q.After != "" {
		c, err := ParseCursor(q.After)
		if err != nil {
			return Page{}, fmt.Errorf("paginate: %w", err)
		}
		after = &c
	}
	n := q.PageSize()
	h := pageHeap{sort: q.Sort, ps: make([]pagePos, 0, min(n, len(matches)))}
	rest := 0 // matches after the cursor
	for _, r := range matches {
		v := SortValues(r, q.Sort)
		if after != nil && comparePos(q.Sort, v, r.ID, after.Values, after.ID) <= 0 {
			continue
		}
		rest++
		p := pagePos{v, r}
		switch {
		case len(h.ps) < n:
			heap.Push(&h, p)
		case h.cmp(p, h.ps[0]) < 0:
			h.ps[0] = p
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h.ps, h.cmp)
	page := Page{Total: int64(len(matches)), Resources: make([]Resource, 0, len(h.ps))}
	for _, p := range h.ps {
		page.Resources = append(page.Resources, p.r)
	}
	if rest > n {
		last := h.ps[len(h.ps)-1]
		page.Next = Cursor{Values: last.v, ID: last.r.ID}.String()
	}
	return page, nil
}

// pagePos is a resource with its sort values.
type pagePos struct {
	v []string
	r Resource
}

// pageHeap is a max-heap of positions under sort (container/heap): its top
// is the last of the page so far.
type pageHeap struct {
	sort []SortKey
	ps   []pagePos
}

func (h *pageHeap) cmp(a, b pagePos) int { return comparePos(h.sort, a.v, a.r.ID, b.v, b.r.ID) }
func (h *pageHeap) Len() int             { return len(h.ps) }
func (h *pageHeap) Less(i, j int) bool   { return h.cmp(h.ps[i], h.ps[j]) > 0 }
func (h *pageHeap) Swap(i, j int)        { h.ps[i], h.ps[j] = h.ps[j], h.ps[i] }
func (h *pageHeap) Push(x any)           { h.ps = append(h.ps, x.(pagePos)) }
func (h *pageHeap) Pop() any             { p := h.ps[len(h.ps)-1]; h.ps = h.ps[:len(h.ps)-1]; return p }

// PageIDs is Paginate for matches known by their ids alone, in id order
// (q.Sort must be empty), each id once: the ids of the page and the cursor
// of the next ("" if none), the same as Paginate gives for resources with
// those ids. A caller holding many matches reads only the page's.
func PageIDs(ids []string, q Query) (page []string, next string, err error) {
	if len(q.Sort) > 0 {
		return nil, "", fmt.Errorf("paginate ids: sorted by %v, not by id", q.Sort)
	}
	var after *Cursor
	if q.After != "" {
		c, err := ParseCursor(q.After)
		if err != nil {
			return nil, "", fmt.Errorf("paginate ids: %w", err)
		}
		after = &c
	}
	n := q.PageSize()
	h := idHeap(make([]string, 0, min(n, len(ids))))
	rest := 0 // matches after the cursor
	for _, id := range ids {
		if after != nil && id <= after.ID {
			continue
		}
		rest++
		switch {
		case len(h) < n:
			heap.Push(&h, id)
		case id < h[0]:
			h[0] = id
			heap.Fix(&h, 0)
		}
	}
	slices.Sort(h)
	if rest > n {
		next = Cursor{ID: h[len(h)-1]}.String()
	}
	return h, next, nil
}

// idHeap is a max-heap of ids (container/heap): its top is the last of
// the page so far.
type idHeap []string

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *idHeap) Pop() any          { x := (*h)[len(*h)-1]; *h = (*h)[:len(*h)-1]; return x }
