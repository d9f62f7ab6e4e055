package mongo

// CachedRecords returns how many records the record cache of s holds (for
// the tests of package mongo_test).
func CachedRecords(s *Store) int {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return len(s.cache.m)
}

// PostgresIndexes is postgresIndexes (for the tests of package mongo_test).
var PostgresIndexes = postgresIndexes
