package records

import (
	"strings"
	"time"
)

// TimeFormat is how "_lastUpdated" values are written in conditions and
// sort keys: RFC 3339 in UTC with milliseconds, so that they sort as text.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// KeyValues returns the values of search key key on r: Keys[key], or the
// logical id for "_id", or Updated in TimeFormat for "_lastUpdated".
func KeyValues(r Resource, key string) []string {
	switch key {
	case "_id":
		return []string{r.ID}
	case "_lastUpdated":
		return []string{r.Updated.UTC().Format(TimeFormat)}
	}
	return r.Keys[key]
}

// Match reports whether r satisfies every condition (AND). A condition holds
// when some value of its key satisfies Op against any one of its Values
// (OR); a condition without Values never holds. Values compare as strings,
// byte by byte, exactly as Query documents; nothing in a value is ever
// interpreted as an operator or a pattern.
func Match(r Resource, conds []Cond) bool {
	for _, c := range conds {
		if !matchCond(KeyValues(r, c.Key), c) {
			return false
		}
	}
	return true
}

func matchCond(have []string, c Cond) bool {
	for _, h := range have {
		for _, want := range c.Values {
			if c.Op.Holds(h, want) {
				return true
			}
		}
	}
	return false
}

// Holds reports whether value have satisfies op against want.
func (op Op) Holds(have, want string) bool {
	switch op {
	case OpEq:
		return have == want
	case OpPrefix:
		return strings.HasPrefix(have, want)
	case OpGe:
		return have >= want
	case OpLe:
		return have <= want
	case OpGt:
		return have > want
	case OpLt:
		return have < want
	}
	return false
}

// truncNow returns t as the Service stores times: UTC, truncated to milliseconds.
func truncNow(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
