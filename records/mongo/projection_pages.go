package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// pagesColl holds the assessment pages of the nutrition projection. A
// nutrition state holds every assessment of the person, so a projection
// that kept it whole would cost a write the length of the person's
// history. Instead the projection document keeps the state with only the
// newest assessments inline, and every full run of pageSize assessments
// before them is a page document whose _id names its content
// ("<person>:<index>:<hash>"): inserted once, never changed, so a visit
// writes the projection document and at most one new page.
//
// Pages are inserted before the projection document that lists them, so a
// listed page always exists. Pages no document lists any more (after a
// correction of an old visit) are left behind; RebuildNutrition removes
// them.
const pagesColl = "nutrition_pages"

// pageSize is how many assessments a page holds.
const pageSize = 32

type pageDoc struct {
	ID     string `bson:"_id"`
	Person string `bson:"p"`
	// Items are the page's assessments: JSON array elements, comma-joined.
	Items string `bson:"items"`
	// At is when the page was inserted: RebuildNutrition leaves younger
	// unlisted pages alone, as a writer may be about to list them.
	At time.Time `bson:"at"`
}

// pagedState is a state split for the projection: head is the state with
// the paged assessments cut out at splice, pages their contents in order.
type pagedState struct {
	head   []byte
	splice int
	pages  [][]byte
	// tail reports whether assessments follow the pages in head (a comma
	// joins them on reassembly).
	tail bool
	// ids are the page ids known already ("" where not: pageID).
	ids []string
}

// splitState pages the assessments of a nutrition state (the JSON of
// records/nutrition.State as encoding/json writes it: no whitespace, the
// "assessments" array after two string fields). ok is false when there is
// nothing to page or the text is not laid out as expected: then the state
// is kept whole.
func splitState(state []byte) (ps pagedState, ok bool) {
	ps, _, ok = splitStateFrom(state, nil)
	return ps, ok
}

// splitScan is what splitting one state found: the state, where its
// assessments open, where each assessment starts and ends, and the ids of
// its pages. A person's next state shares a prefix with it (a visit appends
// an assessment), so splitStateFrom scans the next state only from the last
// assessment before the first byte that differs, and keeps the ids of the
// pages that lie before it: splitting costs what changed, not the history.
type splitScan struct {
	state        []byte
	open         int
	starts, ends []int
	ids          []string
}

// splitCache keeps the splitScan of the nutrition state each person was
// projected with lately (splitStateFrom). Only a speed-up: a scan is used
// for the bytes its state shares with the state being split, compared byte
// for byte.
type splitCache struct {
	mu    sync.Mutex
	m     map[string]*splitScan
	bytes int
}

// Limits of splitCache: the states it keeps are mostly those the record
// cache holds too.
const (
	splitCacheEntries = 256
	splitCacheBytes   = 32 << 20
)

func (c *splitCache) get(cc records.Country, id string) *splitScan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[cacheKey(cc, id)]
}

// put remembers scan (nil: forget) as the latest of person id.
func (c *splitCache) put(cc records.Country, id string, scan *splitScan) {
	k := cacheKey(cc, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[k]; old != nil {
		c.bytes -= len(old.state)
		delete(c.m, k)
	}
	if scan == nil || len(scan.state) > splitCacheBytes/4 {
		return
	}
	if c.m == nil {
		c.m = map[string]*splitScan{}
	}
	for k2, o := range c.m { // evict at random
		if len(c.m) < splitCacheEntries && c.bytes+len(scan.state) <= splitCacheBytes {
			break
		}
		c.bytes -= len(o.state)
		delete(c.m, k2)
	}
	c.m[k] = scan
	c.bytes += len(scan.state)
}

// splitStateFrom is splitState, reusing what splitting prev (nil if none)
// found for the bytes that state shares with prev.state; scan is what it
// found for state.
func splitStateFrom(state []byte, prev *splitScan) (ps pagedState, scan *splitScan, ok bool) {
	key := []byte(`"assessments":[`)
	open := bytes.Index(state, key)
	if open < 0 {
		return ps, nil, false
	}
	open += len(key) // first byte inside the array
	from, kept := open, 0
	var starts, ends []int
	if prev != nil && prev.open == open {
		same := commonPrefix(prev.state, state)
		for i := len(prev.ends) - 1; i >= 0; i-- {
			if e := prev.ends[i]; e < same && state[e] == ',' {
				kept = i + 1
				from = e + 1
				break
			}
		}
		starts = append(starts, prev.starts[:kept]...)
		ends = append(ends, prev.ends[:kept]...)
	}
	starts, ends, end, ok := scanAssessments(state, from, starts, ends)
	if !ok {
		return ps, nil, false
	}
	scan = &splitScan{state: state, open: open, starts: starts, ends: ends}
	full := len(starts) / pageSize
	if end < 0 || full == 0 {
		return ps, scan, false
	}
	for k := range full {
		ps.pages = append(ps.pages, state[starts[k*pageSize]:ends[k*pageSize+pageSize-1]])
		if prev != nil && k < len(prev.ids) && k*pageSize+pageSize <= kept {
			ps.ids = append(ps.ids, prev.ids[k]) // the same bytes as prev's page
		} else {
			ps.ids = append(ps.ids, "")
		}
	}
	cut := end // no tail: the pages end where the array does
	if n := full * pageSize; n < len(starts) {
		cut, ps.tail = starts[n], true
	}
	ps.splice = open
	ps.head = append(append([]byte{}, state[:open]...), state[cut:]...)
	return ps, scan, true
}

// scanAssessments scans the assessments array of state from byte from (the
// array's first byte, or the byte after a comma that ends an element),
// appending the start and end (the comma or closing bracket) of each
// element to starts and ends; end is the closing bracket (-1 if none).
func scanAssessments(state []byte, from int, starts, ends []int) (_, _ []int, end int, ok bool) {
	depth, start, inStr, esc := 0, -1, false, false
	end = -1
scan:
	for i := from; i < len(state); i++ {
		c := state[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if depth == 0 && start < 0 && c != ',' && c != ']' {
			start = i
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}':
			depth--
		case ']':
			if depth == 0 {
				if start >= 0 {
					starts, ends = append(starts, start), append(ends, i)
				}
				end = i
				break scan
			}
			depth--
		case ',':
			if depth == 0 {
				if start < 0 {
					return nil, nil, -1, false // an empty element: not JSON
				}
				starts, ends = append(starts, start), append(ends, i)
				start = -1
			}
		case ' ', '\n', '\t', '\r':
			return nil, nil, -1, false // not encoding/json's compact text
		}
	}
	return starts, ends, end, true
}

// commonPrefix returns how many leading bytes a and b share.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	const chunk = 4096
	i := 0
	for i+chunk <= n && bytes.Equal(a[i:i+chunk], b[i:i+chunk]) {
		i += chunk
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// joinState is the inverse of splitState.
func joinState(head []byte, splice int, tail bool, pages []string) ([]byte, error) {
	if splice < 0 || splice > len(head) {
		return nil, fmt.Errorf("splice at %d of a %d-byte state", splice, len(head))
	}
	out := append([]byte{}, head[:splice]...)
	out = append(out, strings.Join(pages, ",")...)
	if tail {
		out = append(out, ',')
	}
	return append(out, head[splice:]...), nil
}

func pageID(person string, k int, items []byte) string {
	h := fnv.New64a()
	h.Write(items)
	return fmt.Sprintf("%s:%d:%016x", person, k, h.Sum64())
}

// writePages inserts the pages of ps that the stored projection of person
// id does not list yet, and returns the ids of all of them.
func (s *Store) writePages(ctx context.Context, cc records.Country, id string, ps *pagedState) ([]string, error) {
	ids := make([]string, len(ps.pages))
	for k, items := range ps.pages {
		if k < len(ps.ids) && ps.ids[k] != "" {
			ids[k] = ps.ids[k]
			continue
		}
		ids[k] = pageID(id, k, items)
	}
	var old projDoc
	err := s.coll(cc, nutritionColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "pages", Value: 1}})).Decode(&old)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("pages of %s: %w", id, mapErr(err))
	}
	listed := map[string]bool{}
	for _, p := range old.Pages {
		listed[p] = true
	}
	for k, pid := range ids {
		if listed[pid] {
			continue
		}
		_, err := s.coll(cc, pagesColl).InsertOne(ctx, pageDoc{ID: pid, Person: id, Items: string(ps.pages[k]), At: time.Now().UTC()})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return nil, fmt.Errorf("page of %s: %w", id, mapErr(err))
		}
	}
	return ids, nil
}

// stateOf returns the whole nutrition state of projection d, reading its
// pages.
func (s *Store) stateOf(ctx context.Context, cc records.Country, d *projDoc) ([]byte, error) {
	if len(d.Pages) == 0 {
		return []byte(d.Nutrition), nil
	}
	items := make([]string, len(d.Pages))
	for k, pid := range d.Pages {
		var p pageDoc
		if err := s.coll(cc, pagesColl).FindOne(ctx, bson.D{{Key: "_id", Value: pid}}).Decode(&p); err != nil {
			return nil, fmt.Errorf("nutrition page %s: %w", pid, mapErr(err))
		}
		items[k] = p.Items
	}
	b, err := joinState([]byte(d.Nutrition), d.Splice, d.Tail, items)
	if err != nil {
		return nil, fmt.Errorf("nutrition projection of %s: %w", d.ID, err)
	}
	return b, nil
}

// dropUnlistedPages deletes the pages of cc that no projection lists and
// that are older than records.StaleClaim (longer than a write is in flight).
func (s *Store) dropUnlistedPages(ctx context.Context, cc records.Country) error {
	listed := map[string]bool{}
	err := s.eachProjection(ctx, cc, bson.D{}, bson.D{{Key: "pages", Value: 1}}, func(d *projDoc) error {
		for _, p := range d.Pages {
			listed[p] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	cur, err := s.coll(cc, pagesColl).Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "at", Value: 1}}))
	if err != nil {
		return mapErr(err)
	}
	var all []pageDoc
	if err := cur.All(ctx, &all); err != nil {
		return mapErr(err)
	}
	for _, p := range all {
		if listed[p.ID] || time.Since(p.At) < records.StaleClaim {
			continue
		}
		if _, err := s.coll(cc, pagesColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: p.ID}}); err != nil {
			return mapErr(err)
		}
	}
	return nil
}
