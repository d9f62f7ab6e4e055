package records

import (
	"fmt"
	"slices"
)

// OrderedIndex is an in-process index of resources in the order of one
// sort (then id), with a posting list per equality term (a key of their
// Keys and one of its values) kept in the same order. A page of a query in
// that order is read from the shortest posting list of its equality
// conditions, without sorting: a query of one single-valued equality
// costs a binary search and the page; any other, a pass over that list
// with Match. Page answers exactly what Paginate answers over the matches
// of the same resources. An OrderedIndex is not safe for concurrent use:
// its owner locks.
type OrderedIndex struct {
	sort  []SortKey
	all   []*indexed
	byID  map[string]*indexed
	terms map[string][]*indexed // termOf(key, value) -> resources holding it, in order
}

// indexed is a resource with its sort values.
type indexed struct {
	v []string
	r Resource
}

// NewOrderedIndex returns an empty index in the order of sort.
func NewOrderedIndex(sort []SortKey) *OrderedIndex {
	return &OrderedIndex{sort: slices.Clone(sort), byID: map[string]*indexed{}, terms: map[string][]*indexed{}}
}

// OrderedIndexOf returns an index in the order of sort holding rs (whose
// ids must differ), built with one sort instead of a Put each.
func OrderedIndexOf(sort []SortKey, rs []Resource) *OrderedIndex {
	x := NewOrderedIndex(sort)
	x.all = make([]*indexed, 0, len(rs))
	for _, r := range rs {
		e := &indexed{v: SortValues(r, x.sort), r: r}
		x.byID[r.ID] = e
		x.all = append(x.all, e)
	}
	slices.SortFunc(x.all, x.cmp)
	for _, e := range x.all {
		for k, vs := range e.r.Keys {
			for _, v := range vs {
				t := termOf(k, v)
				if l := x.terms[t]; len(l) == 0 || l[len(l)-1] != e {
					x.terms[t] = append(l, e)
				}
			}
		}
	}
	return x
}

// termOf is the posting list key of value v of key.
func termOf(key, v string) string { return key + "\x00" + v }

// Len returns how many resources the index holds.
func (x *OrderedIndex) Len() int { return len(x.all) }

// cmp orders two entries under the index's sort, then by id.
func (x *OrderedIndex) cmp(a, b *indexed) int { return comparePos(x.sort, a.v, a.r.ID, b.v, b.r.ID) }

// Put adds r, replacing the resource with r's id if the index holds one.
func (x *OrderedIndex) Put(r Resource) {
	x.Remove(r.ID)
	e := &indexed{v: SortValues(r, x.sort), r: r}
	x.byID[r.ID] = e
	x.all = x.insert(x.all, e)
	for k, vs := range r.Keys {
		for _, v := range vs {
			t := termOf(k, v)
			x.terms[t] = x.insert(x.terms[t], e)
		}
	}
}

// Remove drops the resource with id, if the index holds it.
func (x *OrderedIndex) Remove(id string) {
	e, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	x.all = x.remove(x.all, e)
	for k, vs := range e.r.Keys {
		for _, v := range vs {
			t := termOf(k, v)
			if l := x.remove(x.terms[t], e); len(l) > 0 {
				x.terms[t] = l
			} else {
				delete(x.terms, t)
			}
		}
	}
}

func (x *OrderedIndex) insert(l []*indexed, e *indexed) []*indexed {
	i, found := slices.BinarySearchFunc(l, e, x.cmp)
	if found && l[i] == e {
		return l // a value listed twice under one key
	}
	return slices.Insert(l, i, e)
}

func (x *OrderedIndex) remove(l []*indexed, e *indexed) []*indexed {
	if i, found := slices.BinarySearchFunc(l, e, x.cmp); found && l[i] == e {
		return slices.Delete(l, i, i+1)
	}
	return l
}

// candidates returns the resources that may match conds, in order: the
// shortest posting list (or union of lists, for several values) of an
// equality condition, else every resource; exact reports that each of
// them matches, so that no condition needs checking: the list is one
// value's, and every other condition is an equality on one value that
// every indexed resource has (an index of alerts asked for alerts), so
// that a page and its total cost the page, not the matches.
func (x *OrderedIndex) candidates(conds []Cond) (list []*indexed, exact bool) {
	list, best := x.all, -1
	for i, c := range conds {
		if !indexable(c) {
			continue
		}
		var l []*indexed
		if len(c.Values) == 1 {
			l = x.terms[termOf(c.Key, c.Values[0])]
		} else {
			l = x.union(c.Key, c.Values)
		}
		if best < 0 || len(l) < len(list) {
			list, best = l, i
		}
	}
	if best < 0 || len(conds[best].Values) != 1 {
		return list, false
	}
	for i, c := range conds {
		if i != best && !x.implied(c) {
			return list, false
		}
	}
	return list, true
}

// indexable reports whether c can be read from posting lists: an
// equality on a search key with values.
func indexable(c Cond) bool {
	return c.Op == OpEq && c.Key != "_id" && c.Key != "_lastUpdated" && len(c.Values) > 0
}

// implied reports whether every indexed resource satisfies c: an equality
// on one value whose posting list holds them all.
func (x *OrderedIndex) implied(c Cond) bool {
	return indexable(c) && len(c.Values) == 1 && len(x.terms[termOf(c.Key, c.Values[0])]) == len(x.all)
}

// union merges the posting lists of key's values, in order, each resource once.
func (x *OrderedIndex) union(key string, values []string) []*indexed {
	var out []*indexed
	seen := map[*indexed]bool{}
	for _, v := range values {
		for _, e := range x.terms[termOf(key, v)] {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, x.cmp)
	return out
}

// Page returns the page of q (whose Sort must be the index's) over the
// indexed resources: what Paginate returns for the ones that Match q.Conds.
func (x *OrderedIndex) Page(q Query) (Page, error) {
	if !slices.Equal(x.sort, q.Sort) {
		return Page{}, fmt.Errorf("ordered index: sort %v, the index is in order %v", q.Sort, x.sort)
	}
	var after *indexed
	if q.After != "" {
		c, err := ParseCursor(q.After)
		if err != nil {
			return Page{}, fmt.Errorf("paginate: %w", err)
		}
		after = &indexed{v: c.Values, r: Resource{ID: c.ID}}
	}
	list, exact := x.candidates(q.Conds)
	n := q.PageSize()
	page := Page{Resources: []Resource{}}
	var last *indexed
	more := false
	if exact {
		from := 0
		if after != nil {
			from, _ = slices.BinarySearchFunc(list, after, x.cmp)
			if from < len(list) && x.cmp(list[from], after) == 0 {
				from++
			}
		}
		to := min(from+n, len(list))
		for _, e := range list[from:to] {
			page.Resources = append(page.Resources, e.r)
			last = e
		}
		page.Total, more = int64(len(list)), to < len(list)
	} else {
		for _, e := range list {
			if !Match(e.r, q.Conds) {
				continue
			}
			page.Total++
			switch {
			case after != nil && x.cmp(e, after) <= 0:
			case len(page.Resources) < n:
				page.Resources = append(page.Resources, e.r)
				last = e
			default:
				more = true
			}
		}
	}
	if more && last != nil {
		page.Next = Cursor{Values: last.v, ID: last.r.ID}.String()
	}
	return page, nil
}
