package records

import "time"

// Commit is one write to one record: the new versions of the resources it
// changed and what else changed with them. Version N of a record is the
// fold of its commits 1..N; a commit is stored once and never changed, so a
// write costs what it changes, not the length of the record's history.
type Commit struct {
	PersonID string
	Version  int64     // the record version this commit makes: the previous one + 1
	At       time.Time // when it was made; Person.Updated afterwards
	// Resources are the new resource versions, in the order they apply.
	Resources []Resource
	// Txn, if set, is the idempotency record of the write (Person.Txns).
	Txn *Txn
	// Nutrition, if not nil, replaces Person.Nutrition.
	Nutrition []byte
	// PrevNutrition is Person.Nutrition before this commit (set with
	// Nutrition), so that a store may keep only the bytes that changed: a
	// visit appends an assessment to a state that holds every earlier one.
	PrevNutrition []byte
	// NutritionDigest is the indicator digest of Nutrition, if known
	// (Person.NutritionDigest); not stored with the commit.
	NutritionDigest []byte
}

// Apply folds c into p (whose Version must be c.Version-1), keeping the last
// maxTxns transactions. It is how every store rebuilds a record.
func (p *Person) Apply(c *Commit) {
	if p.Version == 0 {
		p.Created = c.At
	}
	p.Version, p.Updated = c.Version, c.At
	p.Resources = append(p.Resources, c.Resources...)
	if c.Txn != nil {
		p.Txns = append(p.Txns, *c.Txn)
		if n := len(p.Txns); n > maxTxns {
			p.Txns = append([]Txn(nil), p.Txns[n-maxTxns:]...)
		}
	}
	if c.Nutrition != nil {
		p.Nutrition, p.NutritionDigest = c.Nutrition, c.NutritionDigest
	}
}
