package mongotest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
)

// CachedDataDir returns the data dir of the embedded engine named name in
// the temporary directory, building it the first time: seed fills a store
// of countries opened on it, which is then closed and moved into place, so
// a build cut short is never taken for a finished one. Benchmarks reuse it
// across runs; name should change whenever what seed writes does.
func CachedDataDir(tb testing.TB, name string, countries []records.Country, seed func(*recmongo.Store)) string {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), name)
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	tmp := dir + ".building"
	os.RemoveAll(tmp)
	ctx := context.Background()
	start := time.Now()
	s, err := recmongo.Open(ctx, recmongo.Config{DataDir: tmp, Countries: countries})
	if err != nil {
		tb.Fatal(err)
	}
	seed(s)
	if err := s.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("built %s in %v", dir, time.Since(start).Round(time.Second))
	return dir
}
