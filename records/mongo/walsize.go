package mongo

import (
	"fmt"
	"os"
	"path/filepath"

	"contigo/records"

	"github.com/prometheus/client_golang/prometheus"
)

// registerWALSize registers contigo_store_wal_bytes{country} on reg: the
// size of the write-ahead log of each country's SQLite file of the
// embedded engine. SQLite copies the log back into the database as it
// grows and then starts it over, so it stays small; one that only grows
// means a read was left open somewhere (dial.go, TestEndedReadsLeaveNoReader),
// and each commit then gets slower. Operators alert on it.
func (s *Store) registerWALSize(reg prometheus.Registerer, countries []records.Country) error {
	for _, cc := range countries {
		path := filepath.Join(s.dataDir, s.dbName(cc)+".sqlite-wal")
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "contigo_store_wal_bytes",
			Help:        "Size of the write-ahead log of the embedded engine's SQLite file of a country (small unless a read is left open).",
			ConstLabels: prometheus.Labels{"country": string(cc)},
		}, func() float64 {
			fi, err := os.Stat(path)
			if err != nil {
				return 0 // no log: nothing written since the last checkpoint
			}
			return float64(fi.Size())
		})
		if err := reg.Register(g); err != nil {
			return fmt.Errorf("register the write-ahead log size of %s: %w", cc, err)
		}
	}
	return nil
}
