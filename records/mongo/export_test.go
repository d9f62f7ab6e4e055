package mongo

import (
	"context"
	"errors"

	"contigo/records"
)

// CachedRecords returns how many records the record cache of s holds (for
// the tests of package mongo_test).
func CachedRecords(s *Store) int {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return len(s.cache.m)
}

// PostgresIndexes is postgresIndexes (for the tests of package mongo_test).
var PostgresIndexes = postgresIndexes

// ExplainDigestRead returns PostgreSQL's plan of the read of the digests
// of ids in country cc (digest_cache.go), with sequential scans disabled if
// noSeqScan.
func ExplainDigestRead(ctx context.Context, s *Store, cc records.Country, ids []string, noSeqScan bool) (string, error) {
	if s.pg == nil || s.pg.digestsTable(cc) == "" {
		return "", errors.New("explain: the store does not read digests from PostgreSQL")
	}
	return s.pg.explainSQL(ctx, digestSQL(s.pg.digestsTable(cc))+pgDigestsByID, []any{digestIDs(ids)}, noSeqScan)
}

// DigestsRead returns how many digests of cc a store that is not alone on
// its data directory has read from the database for IndicatorFacts.
func DigestsRead(s *Store, cc records.Country) int {
	d := s.digests.country(cc)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.read
}

// ExplainHeadPatient returns PostgreSQL's plan of the read of Patient id's
// head and of the commit after it (CurrentPatient), with sequential scans
// disabled if noSeqScan.
func ExplainHeadPatient(ctx context.Context, s *Store, cc records.Country, id string, noSeqScan bool) (string, error) {
	if s.pg == nil || !s.pg.hosts(cc) {
		return "", errors.New("explain: the store does not read heads from PostgreSQL")
	}
	return s.pg.explainSQL(ctx, s.pg.patientSQL(cc), []any{`"` + id + `"`, id}, noSeqScan)
}
