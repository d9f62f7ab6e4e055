package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/federation"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
	"contigo/records/namekey"
)

// Names for the seeded persons of BenchmarkMatch: 60 given names and 80
// surnames of the route, drawn uniformly (real registries are more
// skewed towards a few surnames and far more varied in the tail).
var (
	benchGiven = []string{"María", "José", "Valentina", "Juan", "Camila", "Luis", "Sofía", "Carlos", "Daniela", "Miguel",
		"Ana", "Santiago", "Isabella", "Sebastián", "Valeria", "Matías", "Mariana", "Samuel", "Luciana", "Alejandro",
		"Ximena", "Diego", "Gabriela", "Andrés", "Victoria", "Nicolás", "Antonella", "Thiago", "Sara", "Gabriel",
		"Paula", "Daniel", "Juliana", "Josué", "Yuleisy", "Jhon", "Génesis", "Brayan", "Nayeli", "Kevin",
		"Fiorella", "Anthony", "Milagros", "Jhonatan", "Rosa", "Elías", "Abigail", "Joaquín", "Dayana", "Dylan",
		"Keila", "Manuel", "Lucía", "Emmanuel", "Fernanda", "Jeremías", "Alejandra", "Eduardo", "Andrea", "Leonardo"}
	benchSurname = []string{"García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
		"Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales", "Reyes", "Gutiérrez", "Ortiz",
		"Chávez", "Ramos", "Vargas", "Castillo", "Jiménez", "Moreno", "Romero", "Herrera", "Medina", "Aguilar",
		"Mendoza", "Rojas", "Quispe", "Mamani", "Huamán", "Castro", "Suárez", "Vásquez", "Salazar", "Guerrero",
		"Ríos", "Peña", "Cárdenas", "Contreras", "Paredes", "Zambrano", "Montoya", "Ochoa", "Delgado", "Núñez",
		"Osorio", "Cedeño", "Villegas", "Carrillo", "Briceño", "Colmenares", "Marcano", "Urdaneta", "Añez", "Guzmán",
		"Benítez", "Acosta", "Silva", "Rincón", "Parra", "Pineda", "Fuentes", "Maldonado", "Escobar", "Cabrera",
		"Ayala", "Bravo", "Cáceres", "Cordero", "Espinoza", "Figueroa", "Galindo", "Ibarra", "Lozano", "Mejía", "Navarro"}
)

// benchPerson draws a person: one or two given names, two surnames, a
// birth date in the five years before 2026-11.
func benchPerson(r *rand.Rand) (given, family, birth string) {
	given = benchGiven[r.IntN(len(benchGiven))]
	if r.IntN(10) < 4 {
		given += " " + benchGiven[r.IntN(len(benchGiven))]
	}
	family = benchSurname[r.IntN(len(benchSurname))] + " " + benchSurname[r.IntN(len(benchSurname))]
	birth = time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(1800)).Format(time.DateOnly)
	return given, family, birth
}

// matchBenchSize is the number of persons per node of BenchmarkMatch:
// 10,000, or 100,000 with CONTIGO_BENCH_100K=1 (minutes of seeding).
func matchBenchSize() int {
	if os.Getenv("CONTIGO_BENCH_100K") == "1" {
		return 100_000
	}
	return 10_000
}

// matchBenchStore opens a node's store on the engine under test: its own
// embedded engine (exclusive, as contigo serve runs it) by default, the
// shared FerretDB-on-PostgreSQL server (with its GIN indexes) with
// CONTIGO_TEST_ENGINE=postgres.
func matchBenchStore(tb testing.TB, cc records.Country) *recmongo.Store {
	if mongotest.Engine() == mongotest.EnginePostgres {
		return mongotest.NewStore(tb, cc)
	}
	return mongotest.NewEmbedded(tb, cc)
}

// BenchmarkMatch measures Patient/$match through the Echo router with n
// persons per node (matchBenchSize), seeded through the store: on one
// node (EC), and from EC with _federated=true across CO, EC and PE (each
// its own store, mutual TLS on loopback). Queries are seeded persons of
// EC with the accents and second surname dropped. It reports the 50th
// and 95th percentile latency (p50-ms, p95-ms) besides the mean, and the
// candidates blocking brought per query (cands/op).
//
//	go test -run='^$' -bench=Match -benchtime=200x ./api/
//	CONTIGO_BENCH_100K=1 go test -run='^$' -bench=Match -benchtime=200x -timeout=60m ./api/
//	CONTIGO_TEST_ENGINE=postgres go test -run='^$' -bench=Match -benchtime=200x ./api/
func BenchmarkMatch(b *testing.B) {
	n := matchBenchSize()
	for _, tc := range []struct {
		name      string
		countries []records.Country
		path      string
	}{
		{"single-node", []records.Country{"EC"}, "/fhir/Patient/$match"},
		{"federated-3", []records.Country{"CO", "EC", "PE"}, "/fhir/Patient/$match?_federated=true"},
	} {
		b.Run(fmt.Sprintf("%s/persons=%d/engine=%s", tc.name, n, mongotest.Engine()), func(b *testing.B) {
			nodes := startFederation(b, fedOptions{store: matchBenchStore}, tc.countries...)
			// The nodes are seeded in parallel: 100,000 persons take
			// minutes on the embedded engine.
			seeded := make([][]string, len(tc.countries))
			errs := make([]error, len(tc.countries))
			var wg sync.WaitGroup
			for i, cc := range tc.countries {
				wg.Go(func() { seeded[i], errs[i] = seedMatch(b, nodes[cc].store, cc, n, uint64(i+1)) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				b.Fatal(err)
			}
			patients := seeded[slices.Index(tc.countries, "EC")]
			ec := nodes["EC"]
			checkBlockingIndexed(b, ec.store, patients[0])
			var queries []string
			for _, p := range patients {
				queries = append(queries, matchParams(p, false))
			}
			benchCall(b, ec, "POST", tc.path, queries[0], 200) // loads the embedded engine's Patient index
			cands := 0
			for _, p := range patients[:20] {
				cands += countCandidates(b, ec.store, p)
			}
			var took []time.Duration
			b.ReportAllocs()
			stop := profileLoop(b, tc.name)
			i := 0
			for b.Loop() {
				start := time.Now()
				benchCall(b, ec, "POST", tc.path, queries[i%len(queries)], 200)
				took = append(took, time.Since(start))
				i++
			}
			stop()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(cands)/20, "cands/op")
			if len(tc.countries) > 1 {
				concurrentMatch(b, ec, tc.path, queries)
			}
		})
	}
}

// profileLoop starts a CPU profile of the timed loop alone (seeding
// excluded, which go test -cpuprofile cannot) when CONTIGO_MATCH_PROFILE
// names a directory: it writes <dir>/<name>.cpu and, when the returned
// stop is called, <dir>/<name>.heap (allocations of the whole run).
//
//	CONTIGO_MATCH_PROFILE=/tmp/prof go test -run='^$' -bench=BenchmarkMatch -benchtime=100x ./api/
//	go tool pprof -top /tmp/prof/federated-3.cpu
func profileLoop(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("CONTIGO_MATCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".cpu"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		h, err := os.Create(filepath.Join(dir, name+".heap"))
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		if err := pprof.Lookup("allocs").WriteTo(h, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// concurrentClients is how many clients concurrentMatch runs at once, and
// concurrentCalls how many federated $match calls each makes.
const (
	concurrentClients = 8
	concurrentCalls   = 25
)

// concurrentMatch sends queries to n from concurrentClients clients at
// once, concurrentCalls each, with every peer up and the default peer
// deadline (federation.DefaultPeerTimeout), and reports the 95th
// percentile latency (clients8-p95-ms) and how many answers were partial:
// a searchset with an outcome entry, which names a country that did not
// answer (partial-answers; 0 is right when every peer is up).
func concurrentMatch(b *testing.B, n *fedNodeT, path string, queries []string) {
	b.Helper()
	var mu sync.Mutex
	var took []time.Duration
	partial := 0
	var wg sync.WaitGroup
	for c := range concurrentClients {
		wg.Go(func() {
			for i := range concurrentCalls {
				start := time.Now()
				body := matchCall(b, n, path, queries[(c*concurrentCalls+i)%len(queries)])
				d := time.Since(start)
				mu.Lock()
				took = append(took, d)
				if strings.Contains(body, `"mode":"outcome"`) {
					partial++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	reportLatency(b, "clients8-", took)
	b.ReportMetric(float64(partial), "partial-answers")
	b.Logf("%d clients, %d federated $match calls: %d partial answers", concurrentClients, len(took), partial)
}

// matchCall posts a $match to n and returns the answer's body, failing b
// (from any goroutine: Errorf, then the call's caller sees an empty body)
// on a status other than 200.
func matchCall(b *testing.B, n *fedNodeT, path, body string) string {
	req, err := http.NewRequest("POST", n.user.URL+path, strings.NewReader(body))
	if err != nil {
		b.Error(err)
		return ""
	}
	req.Header.Set("Authorization", "Bearer "+n.hw)
	req.Header.Set("Content-Type", "application/fhir+json")
	res, err := userClient.Do(req)
	if err != nil {
		b.Error(err)
		return ""
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Errorf("POST %s: %d: %s", path, res.StatusCode, got)
	}
	return string(got)
}

// seedMatch stores n persons in country cc through the store, in batches,
// and returns 200 Patients to match: seeded persons with the accents and
// the second surname dropped.
func seedMatch(b *testing.B, store *recmongo.Store, cc records.Country, n int, seed uint64) ([]string, error) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 2))
	now := time.Now().UTC().Truncate(time.Millisecond)
	start := time.Now()
	var queries []string
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		var ps []*records.Person
		for i := lo; i < min(lo+batch, n); i++ {
			g, f, d := benchPerson(r)
			res, err := fhir.Parse([]byte(childJSON(g, f, d, "")), "Patient", now)
			if err != nil {
				return nil, fmt.Errorf("seed %s: %w", cc, err)
			}
			res.ID, res.Version, res.Updated = fmt.Sprintf("m%s%020d", strings.ToLower(string(cc)), i), 1, now
			ps = append(ps, &records.Person{ID: res.ID, Country: cc, Version: 1, Created: now, Updated: now, Resources: []records.Resource{res}})
			if len(queries) < 200 && i%(max(n/200, 1)) == 0 {
				queries = append(queries, childJSON(stripAccentsASCII(g), stripAccentsASCII(strings.Fields(f)[0]), d, ""))
			}
		}
		if err := store.InsertMany(ctx, cc, ps); err != nil {
			return nil, fmt.Errorf("seed %s: %w", cc, err)
		}
	}
	b.Logf("seeded %d persons in %s in %v", n, cc, time.Since(start).Round(time.Millisecond))
	return queries, nil
}

// countCandidates returns how many records blocking brings for patient
// (Patient JSON) in EC.
func countCandidates(b *testing.B, store *recmongo.Store, patient string) int {
	b.Helper()
	total := 0
	for _, q := range candidateQueries(b, patient) {
		q.Count = records.MaxCount
		n, err := store.Count(context.Background(), "EC", q)
		if err != nil {
			b.Fatal(err)
		}
		total += int(n)
	}
	return total
}

// checkBlockingIndexed fails the benchmark unless the candidate search is
// served by an index: on FerretDB-PostgreSQL, PostgreSQL's plan for the
// blocking keys of patient, read in one statement
// (records/mongo/pgsearch.go), must use the GIN index on idx; the
// embedded engine serves Patient searches from its in-memory posting
// lists (records/mongo/patient_index.go), which need no check here.
func checkBlockingIndexed(b *testing.B, store *recmongo.Store, patient string) {
	b.Helper()
	if mongotest.Engine() != mongotest.EnginePostgres {
		if !store.Embedded() {
			b.Fatal("embedded engine: the store is not exclusive, so Patient searches read every head")
		}
		return
	}
	qs := candidateQueries(b, patient)
	q := qs[len(qs)-1]
	if q.Conds[0].Key != namekey.Match {
		b.Fatalf("last candidate query is on %s, want %s", q.Conds[0].Key, namekey.Match)
	}
	plan, err := store.ExplainHeadSearch(context.Background(), "EC", q, false)
	if err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(plan, "_contigo_idx") || strings.Contains(plan, "Seq Scan") {
		b.Fatalf("the %d blocking keys read the table:\n%s", len(q.Conds[0].Values), plan)
	}
	b.Logf("plan of the %d blocking keys:\n%s", len(q.Conds[0].Values), plan)
}

// candidateQueries returns the blocking searches of $match for patient.
func candidateQueries(b *testing.B, patient string) []records.Query {
	b.Helper()
	p, err := federation.FromPatientJSON([]byte(patient))
	if err != nil {
		b.Fatal(err)
	}
	return federation.CandidateQueries(p)
}

// stripAccentsASCII replaces the accented letters of the bench names.
func stripAccentsASCII(s string) string {
	out := []rune(s)
	for i, c := range out {
		switch c {
		case 'á':
			out[i] = 'a'
		case 'é':
			out[i] = 'e'
		case 'í':
			out[i] = 'i'
		case 'ó':
			out[i] = 'o'
		case 'ú':
			out[i] = 'u'
		}
	}
	return string(out)
}
