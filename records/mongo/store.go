package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"contigo/records"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Collection names inside each country's database.
const (
	personsColl = "persons"
	claimsColl  = "claims"
	auditColl   = "audit"
)

// Config configures Open.
type Config struct {
	// URI of the MongoDB deployment (MongoDB 6.0 or later). Empty starts the
	// embedded engine on DataDir.
	URI string
	// DataDir holds the embedded engine's SQLite files; required when URI is
	// empty.
	DataDir string
	// Countries are the hosted countries: each gets its own database,
	// collections and indexes at Open.
	Countries []records.Country
	// DBPrefix prefixes database names: DBPrefix + lower-case country code.
	// Default "contigo_".
	DBPrefix string
	// SQLiteDir, with a URI, names the directory of the SQLite files of an
	// embedded engine that serves URI from this same process (as
	// mongotest does), so that Open can add its _id indexes. Ignored when URI
	// is empty (DataDir is used).
	SQLiteDir string
	// PostgreSQLURL, with a URI served by FerretDB on PostgreSQL, is the
	// connection string of the PostgreSQL database behind it, so that Open
	// can add the indexes FerretDB's queries can use (pgindex.go). Without
	// it every query on that engine reads whole tables.
	PostgreSQLURL string
	// NoSQLiteIndexes leaves out (and drops, if an earlier Open added them)
	// the SQLite _id expression indexes, to measure what they are worth.
	// mongotest sets it when CONTIGO_NO_SQLITE_INDEX=1.
	NoSQLiteIndexes bool
	// Logger receives the embedded engine's errors (FerretDB's warnings quote
	// whole wire messages, so they are dropped); discarded if nil.
	Logger *slog.Logger
	// Registerer, if set, gets contigo_db_operation_duration_seconds.
	Registerer prometheus.Registerer
	// Timeout bounds connecting at Open (default 10s).
	Timeout time.Duration
	// MongoDBPaths makes a FerretDB server be treated as MongoDB: the
	// MongoDB indexes are created and MongoDB's query shapes used, and none
	// of the FerretDB-specific indexes or SQL. Only for tests, so that the
	// code path of a production MongoDB deployment runs where no MongoDB
	// server can (mongotest, CONTIGO_TEST_MONGODB_PATHS=1).
	MongoDBPaths bool
	// CacheBytes bounds the in-process cache of records (default 256 MiB
	// of estimated heap: bodies, search keys, transactions, nutrition
	// state; negative disables it). The cache only saves reads: every use
	// checks the database for newer commits.
	CacheBytes int64
}

// storeCollections are the collections of each country's database.
var storeCollections = []string{personsColl, commitsColl, intentsColl, claimsColl, auditColl, nutritionColl, exportsColl, exportFilesColl, pagesColl, digestColl, alertsColl}

// Store implements records.Store on MongoDB or on the embedded engine.
type Store struct {
	client    *mongo.Client
	embedded  *embedded  // nil unless Open started the embedded engine
	gate      *writeGate // the embedded engine's writes, one per database at a time (writegate.go); nil elsewhere
	ferret    bool       // the server is FerretDB: only _id filters use an index
	pg        *pgHeads   // Patient heads read from PostgreSQL (FerretDB-PostgreSQL with PostgreSQLURL), else nil
	prefix    string
	dataDir   string
	dur       *prometheus.HistogramVec
	cache     *recordCache // records read or written lately (cache.go)
	proj      projState    // the embedded engine's flag cache (projection_cache.go)
	pindex    patientIndex // the embedded engine's Patient search index
	splits    splitCache   // how the nutrition states written lately split into pages
	aindex    auditIndex   // the embedded engine's audit index by person
	digests   digestCache  // indicator facts in memory (digest_cache.go)
	liteOff   bool         // the loaders read through FerretDB even when lite() (tests: lite.go)
	liteFiles liteFiles    // the SQLite files read directly (lite_files.go)
}

var _ records.Store = (*Store)(nil)

// Open connects to cfg.URI, or starts the embedded engine when it is empty,
// and creates each country's collections and indexes. It returns an error
// wrapping records.ErrUnavailable if the database cannot be reached.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.DBPrefix == "" {
		cfg.DBPrefix = "contigo_"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 256 << 20
	}
	s := &Store{prefix: cfg.DBPrefix, cache: newRecordCache(cfg.CacheBytes)}
	uri, sqliteDir := cfg.URI, cfg.SQLiteDir
	if uri == "" {
		if cfg.DataDir == "" {
			return nil, errors.New("open store: no MongoDB URI and no data dir")
		}
		e, err := startEmbedded(ctx, cfg.DataDir, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		s.embedded, uri, sqliteDir, s.dataDir = e, e.uri, e.dir, e.dir
	}
	if cfg.Registerer != nil {
		s.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contigo_db_operation_duration_seconds",
			Help:    "Duration of database operations by operation and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"op", "outcome"})
		if err := cfg.Registerer.Register(s.dur); err != nil {
			s.Close(ctx)
			return nil, fmt.Errorf("open store: register metrics: %w", err)
		}
		if s.embedded != nil {
			if err := s.registerWALSize(cfg.Registerer, cfg.Countries); err != nil {
				s.Close(ctx)
				return nil, fmt.Errorf("open store: %w", err)
			}
		}
	}
	opts := options.Client().ApplyURI(uri).SetDialer(&dialer{}).
		SetServerSelectionTimeout(cfg.Timeout).SetTimeout(time.Minute)
	if s.embedded != nil {
		s.gate = newWriteGate()
		opts.SetMonitor(s.gate.monitor())
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		s.Close(ctx)
		return nil, fmt.Errorf("open store: connect: %w", errors.Join(records.ErrUnavailable, err))
	}
	s.client = client
	// Every step of setup is idempotent: a start that a busy server
	// answered with a timeout runs it again (three tries, 1 s then 2 s
	// apart) rather than failing the replica.
	for try := 1; ; try++ {
		err := s.setup(ctx, cfg, sqliteDir)
		if err == nil {
			break
		}
		if !errors.Is(err, records.ErrUnavailable) || try == 3 || records.Sleep(ctx, time.Duration(try)*time.Second) != nil {
			s.Close(ctx)
			return nil, fmt.Errorf("open store: %w", err)
		}
		cfg.Logger.WarnContext(ctx, "open store: the database did not answer in time; trying again", "try", try, "err", err)
	}
	s.warm(cfg.Countries)
	return s, nil
}

func (s *Store) setup(ctx context.Context, cfg Config, sqliteDir string) error {
	var info bson.M
	if err := s.client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fmt.Errorf("build info: %w", mapErr(err))
	}
	_, s.ferret = info["ferretdbVersion"]
	if cfg.MongoDBPaths {
		s.ferret, sqliteDir, cfg.PostgreSQLURL = false, "", ""
	}
	if s.ferret && sqliteDir == "" && cfg.PostgreSQLURL == "" {
		cfg.Logger.WarnContext(ctx, "the MongoDB-wire server is FerretDB and no PostgreSQL URL is configured: "+
			"its queries cannot use indexes and read whole tables; on FerretDB over PostgreSQL give --postgresql-url")
	}
	for _, cc := range cfg.Countries {
		if err := s.createCountry(ctx, cc); err != nil {
			return fmt.Errorf("country %s: %w", cc, err)
		}
		if s.ferret && sqliteDir != "" {
			if err := sqliteIndexes(ctx, sqliteDir, s.dbName(cc), !cfg.NoSQLiteIndexes); err != nil {
				return fmt.Errorf("country %s: %w", cc, err)
			}
		}
		if s.ferret && sqliteDir == "" && cfg.PostgreSQLURL != "" {
			if err := postgresIndexes(ctx, cfg.PostgreSQLURL, s.dbName(cc)); err != nil {
				return fmt.Errorf("country %s: %w", cc, err)
			}
		}
		if err := s.migrate(ctx, cc); err != nil {
			return fmt.Errorf("country %s: %w", cc, err)
		}
		if err := s.setupHeadTerms(ctx, cc); err != nil {
			return fmt.Errorf("country %s: %w", cc, err)
		}
		if err := s.setupProjection(ctx, cc); err != nil {
			return fmt.Errorf("country %s: %w", cc, err)
		}
	}
	if s.ferret && sqliteDir == "" && cfg.PostgreSQLURL != "" && len(cfg.Countries) > 0 {
		pg, err := openPGHeads(ctx, cfg.PostgreSQLURL, cfg.Countries, s.dbName)
		if err != nil {
			return err
		}
		s.pg = pg
	}
	return nil
}

// createCountry creates the collections (the SQLite index fix needs their
// tables to exist) and the secondary indexes, each only if missing:
// re-creating an existing index crashed FerretDB on PostgreSQL, and a
// second replica or a restart must start. The array-valued search keys
// (idx, fidx) are indexed on MongoDB only: FerretDB indexes a whole array
// as one key (too long for PostgreSQL's btree) and never uses such an index
// for a query; there those searches read the small projection documents.
func (s *Store) createCountry(ctx context.Context, cc records.Country) error {
	db := s.client.Database(s.dbName(cc))
	have, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("list collections: %w", mapErr(err))
	}
	for _, name := range storeCollections {
		if contains(have, name) {
			continue
		}
		if err := db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
			return fmt.Errorf("create collection %s: %w", name, mapErr(err))
		}
	}
	want := map[string][]mongo.IndexModel{
		auditColl: {
			{Keys: bson.D{{Key: "t", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("t_-1__id_-1")},
			{Keys: bson.D{{Key: "person", Value: 1}, {Key: "t", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("person_1_t_-1__id_-1")},
		},
		exportFilesColl: {{Keys: bson.D{{Key: "job", Value: 1}, {Key: "att", Value: 1}, {Key: "type", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("job_1_att_1_type_1_seq_1")}},
	}
	if !s.ferret {
		want[personsColl] = []mongo.IndexModel{
			// Search terms, then _id: an exact Patient search reads its page in
			// _id order after an equality on idx (mongoExact).
			{Keys: bson.D{{Key: "idx", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("idx_1__id_1")},
			{Keys: bson.D{{Key: "types", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("types_1__id_1")},
		}
		want[auditColl] = append(want[auditColl], mongo.IndexModel{Keys: bson.D{{Key: "persons", Value: 1}, {Key: "t", Value: -1}}, Options: options.Index().SetName("persons_1_t_-1")})
		want[nutritionColl] = []mongo.IndexModel{{Keys: bson.D{{Key: "fidx", Value: 1}}, Options: options.Index().SetName("fidx_1")}}
		// The alert list (alerts.go, searchAlertsMongo): equality on one
		// key value then the sort; the sort alone; a person's alerts.
		want[alertsColl] = []mongo.IndexModel{
			{Keys: bson.D{{Key: "fidx", Value: 1}, {Key: "s", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("fidx_1_s_1__id_1")},
			{Keys: bson.D{{Key: "s", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("s_1__id_1")},
			{Keys: bson.D{{Key: "p", Value: 1}}, Options: options.Index().SetName("p_1")},
		}
		// The digests written since a time (readDigestsSince).
		want[digestColl] = []mongo.IndexModel{{Keys: bson.D{{Key: "t", Value: 1}}, Options: options.Index().SetName("t_1")}}
	}
	for coll, models := range want {
		if err := ensureIndexes(ctx, db.Collection(coll), models); err != nil {
			return fmt.Errorf("indexes of %s: %w", coll, err)
		}
	}
	return nil
}

// ensureIndexes creates the indexes of models whose names c lacks.
func ensureIndexes(ctx context.Context, c *mongo.Collection, models []mongo.IndexModel) error {
	specs, err := c.Indexes().ListSpecifications(ctx)
	if err != nil {
		return mapErr(err)
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		var o options.IndexOptions
		for _, set := range m.Options.List() {
			_ = set(&o)
		}
		found := false
		for _, sp := range specs {
			found = found || (o.Name != nil && sp.Name == *o.Name)
		}
		if !found {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.Indexes().CreateMany(ctx, missing); err != nil {
		return mapErr(err)
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 48 || ce.Name == "NamespaceExists")
}

// Close disconnects and stops the embedded engine, if any.
func (s *Store) Close(ctx context.Context) error {
	var errs []error
	if s.proj.stopWarm != nil {
		s.proj.stopWarm()
	}
	errs = append(errs, s.liteFiles.close())
	if s.pg != nil {
		s.pg.close()
	}
	if s.client != nil {
		errs = append(errs, s.client.Disconnect(ctx))
	}
	if s.embedded != nil {
		errs = append(errs, s.embedded.stop())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Embedded reports whether Open started the embedded engine.
func (s *Store) Embedded() bool { return s.embedded != nil }

// DataDir returns the embedded engine's data directory, "" on MongoDB.
func (s *Store) DataDir() string { return s.dataDir }

// Client returns the driver client, for tests and tools.
func (s *Store) Client() *mongo.Client { return s.client }

// DatabaseName returns the name of country cc's database.
func (s *Store) DatabaseName(cc records.Country) string { return s.dbName(cc) }

func (s *Store) dbName(cc records.Country) string {
	return s.prefix + strings.ToLower(string(cc))
}

func (s *Store) coll(cc records.Country, name string) *mongo.Collection {
	return s.client.Database(s.dbName(cc)).Collection(name)
}

// Ping reports whether the database answers; the error wraps
// records.ErrUnavailable if not.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer s.observe("ping", time.Now(), &err)
	if err := s.client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("ping: %w", mapErr(err))
	}
	return nil
}

// exclusive reports whether this process alone uses the database: the
// embedded engine it started, whose data directory it holds locked. Only
// then may in-process caches of query results (the flag cache) stand in
// for reading the database.
func (s *Store) exclusive() bool { return s.embedded != nil }

// observe records the duration and outcome of one operation.
func (s *Store) observe(op string, start time.Time, errp *error) {
	if s.dur == nil {
		return
	}
	outcome := "ok"
	switch err := *errp; {
	case err == nil:
	case errors.Is(err, records.ErrNotFound):
		outcome = "not_found"
	case errors.Is(err, records.ErrConflict), errors.Is(err, records.ErrVersionMismatch):
		outcome = "conflict"
	case errors.Is(err, records.ErrUnavailable):
		outcome = "unavailable"
	default:
		outcome = "error"
	}
	s.dur.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

// mapErr turns driver errors into records error kinds, keeping the cause.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return records.ErrNotFound
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %w", records.ErrConflict, err)
	case mongo.IsNetworkError(err), errors.Is(err, mongo.ErrClientDisconnected),
		strings.Contains(err.Error(), "server selection error"):
		// No server answered, whether or not a deadline ended the wait.
		return fmt.Errorf("%w: %w", records.ErrUnavailable, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case mongo.IsTimeout(err), isBackendTimeout(err):
		return fmt.Errorf("%w: %w", records.ErrUnavailable, err)
	}
	return err
}

// isBackendTimeout reports whether err is FerretDB's answer when its own
// connection to PostgreSQL timed out: an InternalError (code 1) whose
// message ends in the network error ("read tcp ...: i/o timeout"). The
// database did not answer in time, as with a driver timeout.
func isBackendTimeout(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 1 && strings.Contains(ce.Message, "i/o timeout")
}
