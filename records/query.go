package records

// Op is a comparison in a search condition. Values compare as strings: the
// fhir package normalises dates to sortable ISO 8601 text and names to lower
// case without accents before they reach a Query.
type Op uint8

// Comparison operators.
const (
	OpEq     Op = iota // equal
	OpPrefix           // starts with
	OpGe               // >=
	OpLe               // <=
	OpGt               // >
	OpLt               // <
)

// Cond is one search condition: some value of Keys[Key] satisfies Op against
// any one of Values (OR). Key "_id" matches the logical id and
// "_lastUpdated" the resource's Updated time (RFC 3339, UTC, milliseconds).
type Cond struct {
	Key    string
	Op     Op
	Values []string
}

// SortKey orders search results by a key; ties are broken by id.
type SortKey struct {
	Key  string // a Keys name, "_id" or "_lastUpdated"
	Desc bool
}

// Query selects current (not deleted) resources of one type. All Conds must
// hold (AND).
type Query struct {
	Type  string
	Conds []Cond
	Sort  []SortKey
	Count int    // page size; 0 means the server default
	After string // opaque cursor of the page before; "" for the first page
}

// Page is one page of search results.
type Page struct {
	Resources []Resource
	Next      string // cursor for the next page, "" when this is the last
	Total     int64  // number of matches when known, -1 otherwise
}
