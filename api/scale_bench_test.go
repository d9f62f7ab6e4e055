package api

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contigo/fhir"
	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// scaleSchema names the layout of the cached datasets of BenchmarkScale;
// change it whenever the seed changes, so that stale caches are rebuilt.
const scaleSchema = "1"

// Scale dataset: scaleTemplates children, each written visit by visit
// through the Service and the nutrition hook (ten monthly visits of
// weight, length and MUAC in 2025: 20 % severe, 20 % moderate, the rest
// healthy), cloned to n persons with their own ids, names and
// identifiers, plus two audit entries per person (one naming it, one
// among three disclosed persons).
const (
	scaleTemplates = 40
	scaleVisits    = 10
)

var (
	scaleFamilies = []string{"Perez", "Garcia", "Rodriguez", "Gonzalez", "Hernandez", "Lopez", "Martinez", "Sanchez", "Ramirez", "Torres",
		"Flores", "Rivera", "Gomez", "Diaz", "Cruz", "Morales", "Reyes", "Gutierrez", "Ortiz", "Castillo", "Jimenez", "Ruiz", "Vargas",
		"Mendoza", "Castro", "Romero", "Alvarez", "Herrera", "Medina", "Aguilar", "Moreno", "Vasquez", "Rojas", "Guerrero", "Ramos",
		"Salazar", "Suarez", "Cardenas", "Ortega", "Delgado", "Navarro", "Pena", "Rios", "Soto", "Contreras", "Silva", "Sandoval",
		"Cabrera", "Paredes", "Velasquez", "Campos", "Fuentes", "Cortes", "Vega", "Carrillo", "Acosta", "Molina", "Osorio", "Pineda", "Bravo"}
	scaleGivens = []string{"Ana", "Jose", "Maria", "Juan", "Lucia", "Carlos", "Sofia", "Luis", "Valentina", "Miguel", "Camila", "Diego",
		"Isabella", "Andres", "Daniela", "Santiago", "Gabriela", "Mateo", "Mariana", "Samuel", "Paula", "Sebastian", "Laura", "Nicolas",
		"Sara", "Alejandro", "Victoria", "David", "Emilia", "Tomas", "Renata", "Martin", "Julieta", "Felipe", "Antonella", "Gabriel"}
)

func scaleID(i int) string    { return fmt.Sprintf("scale%021d", i) }
func scaleIdent(i int) string { return fmt.Sprintf("%08d", i) }
func scaleFamily(i int) string {
	return scaleFamilies[(i/scaleTemplates)%len(scaleFamilies)]
}
func scaleGiven(i int) string { return scaleGivens[(i/7)%len(scaleGivens)] }
func scaleBirth(k int) string {
	return time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 31*k).Format(time.DateOnly)
}

// BenchmarkScale measures every read the API serves for the store issue's
// scale targets, through the Echo router, at 1,000 persons of about ten
// visits each (10,000 with CONTIGO_BENCH_10K=1, 100,000 with
// CONTIGO_BENCH_100K=1): read by id, search by identifier, by name and
// birth date, Observation by patient and code, AuditEvent by patient,
// /alerts, /indicators, a visit upload (a new child) and a weight added to
// a child with ten visits, and startup (the store opened on the dataset
// and the server built). On the embedded engine (the store that `contigo
// serve` opens on a data dir) datasets are built once into
// $TMPDIR/contigo-scale-<schema>-<n> and reused; with
// CONTIGO_TEST_ENGINE=postgres they are seeded into a fresh database each
// run. Each request reports its p50 and p95 in ms beside ns/op.
//
//	CONTIGO_BENCH_10K=1 go test -run='^$' -bench=Scale -timeout=2h ./api/
//	CONTIGO_TEST_ENGINE=postgres CONTIGO_BENCH_10K=1 go test -run='^$' -bench=Scale -timeout=2h ./api/
func BenchmarkScale(b *testing.B) {
	sizes := []int{1000}
	if os.Getenv("CONTIGO_BENCH_10K") == "1" {
		sizes = append(sizes, 10_000)
	}
	if os.Getenv("CONTIGO_BENCH_100K") == "1" {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("persons=%d/engine=%s", n, mongotest.Engine()), func(b *testing.B) {
			benchScale(b, n)
		})
	}
}

func benchScale(b *testing.B, n int) {
	ctx := context.Background()
	var open func() (*recmongo.Store, error)
	if mongotest.Engine() == "postgres" {
		seeded := mongotest.NewStoreConfig(b, recmongo.Config{Countries: []records.Country{"CO", "EC"}})
		start := time.Now()
		seedScale(b, seeded, n)
		b.Logf("seeded %d persons in %v", n, time.Since(start).Round(time.Second))
		prefix := strings.TrimSuffix(seeded.DatabaseName("CO"), "co")
		open = func() (*recmongo.Store, error) {
			return recmongo.Open(ctx, recmongo.Config{URI: mongotest.URI(), PostgreSQLURL: mongotest.PostgreSQLURL(),
				DBPrefix: prefix, Countries: []records.Country{"CO", "EC"}})
		}
	} else {
		dir := scaleDataset(b, n)
		open = func() (*recmongo.Store, error) {
			return recmongo.Open(ctx, recmongo.Config{DataDir: dir, Countries: []records.Country{"CO", "EC"}})
		}
	}
	// The first start after seeding (or on a data set of an older binary)
	// may upgrade it once: not timed with the others.
	t0 := time.Now()
	first, err := open()
	if err != nil {
		b.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("first start: %v", time.Since(t0).Round(time.Millisecond))
	// Startup: what `contigo serve` does before it listens (the store
	// opened on the data set, the nutrition engine and the server built).
	// The embedded engine's data dir is locked: each store is closed
	// before the next opens.
	b.Run("startup", func(b *testing.B) {
		for b.Loop() {
			s, err := open()
			if err != nil {
				b.Fatal(err)
			}
			newScaleEnv(b, s)
			if err := s.Close(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Warm-up: the store opened and its in-memory indexes loaded in the
	// background (requests are served meanwhile; one that needs an index
	// not yet loaded waits for it).
	// Each start loads every index, so three starts at most, whatever
	// -benchtime says; heap-MB is the Go heap in use once it is loaded,
	// peak-heap-MB the most in use (garbage included) during the load,
	// sampled every 100 ms.
	b.Run("warm-up", func(b *testing.B) {
		runs := min(b.N, 3)
		var took time.Duration
		var heap, peak uint64
		for range runs {
			runtime.GC()
			start := time.Now()
			s, err := open()
			if err != nil {
				b.Fatal(err)
			}
			peak = max(peak, heapPeak(s.Warmed()))
			took += time.Since(start)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = max(heap, ms.HeapInuse)
			if err := s.Close(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(took.Nanoseconds())/float64(runs), "ns/op")
		b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	})
	start := time.Now()
	s, err := open()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	// The reads measure the steady state: on the embedded engine, after
	// the warm-up that loads the in-memory indexes in the background.
	<-s.Warmed()
	b.Logf("warm-up after start: %v", time.Since(start).Round(time.Millisecond))
	e := newScaleEnv(b, s)
	rnd := rand.New(rand.NewPCG(7, 8))
	lead := e.token(RoleNutritionLead, "CO")
	get := func(b *testing.B, tok, path, accept string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	read := func() string { return "/fhir/Patient/" + scaleID(rnd.IntN(n)) }
	reads := []struct {
		name string
		tok  string
		path func() string
	}{
		{"read", e.hw, read},
		{"search-identifier", e.hw, func() string {
			return "/fhir/Patient?identifier=urn:contigo:scale|" + scaleIdent(rnd.IntN(n))
		}},
		{"search-name-birthdate", e.hw, func() string {
			i := rnd.IntN(n)
			return "/fhir/Patient?family=" + scaleFamily(i) + "&birthdate=" + scaleBirth(i%scaleTemplates)
		}},
		// A health worker's usual search: given and family name and birth
		// date. Its answer stays about the same (1.0 person at 10,000, 2.0
		// at 100,000 in this data set), where the row above grows tenfold
		// (4.2 and 42 persons: 60 family names x 40 birth dates).
		{"search-given-family-birthdate", e.hw, func() string {
			i := rnd.IntN(n)
			return "/fhir/Patient?given=" + scaleGiven(i) + "&family=" + scaleFamily(i) + "&birthdate=" + scaleBirth(i%scaleTemplates)
		}},
		{"search-family-1-letter", e.hw, func() string {
			return "/fhir/Patient?family=" + scaleFamily(rnd.IntN(n))[:1]
		}},
		{"search-family-2-letters", e.hw, func() string {
			return "/fhir/Patient?family=" + scaleFamily(rnd.IntN(n))[:2]
		}},
		{"observation-patient-code", e.hw, func() string {
			return "/fhir/Observation?patient=Patient/" + scaleID(rnd.IntN(n)) + "&code=http://loinc.org|" + fhir.LOINCWeight
		}},
		{"audit-patient", e.admin, func() string { return "/fhir/AuditEvent?patient=Patient/" + scaleID(rnd.IntN(n)) }},
		{"alerts-page50", lead, func() string { return "/alerts?count=50" }},
		{"alerts-area", lead, func() string { return fmt.Sprintf("/alerts?admin_area=area-%d&count=50", rnd.IntN(20)) }},
		{"indicators-year", lead, func() string { return "/indicators?from=2025-01-01&to=2026-01-01" }},
		{"indicators-by-month", lead, func() string { return "/indicators?from=2025-01-01&to=2026-01-01&by=month" }},
		// Read by id again, every index now loaded: what read-while-8-search
		// compares with.
		{"read-loaded", e.hw, read},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			// Warm-up, not timed: the first request after start may load
			// an in-process index (embedded engine).
			start := time.Now()
			get(b, r.tok, r.path(), "")
			b.Logf("first request: %v", time.Since(start).Round(time.Millisecond))
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t := time.Now()
				get(b, r.tok, r.path(), "")
				lat = append(lat, time.Since(t))
			}
			reportLatency(b, "", lat)
		})
	}
	// What the in-process indexes and caches hold once every read ran.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("heap in use after the reads: %d MB", ms.HeapInuse>>20)
	// Read by id while 8 clients search by name and birth date without
	// pause (the target: p50 within 2x of "read" alone), with the default
	// search lane and without one.
	bounded := e.srv.lane
	unbounded, err := newSearchLane(-1, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range []struct {
		name string
		lane *searchLane
	}{{"read-while-8-search", bounded}, {"read-while-8-search-unbounded", unbounded}} {
		e.srv.lane = l.lane
		b.Run(l.name, func(b *testing.B) { benchReadWhileSearch(b, e, n, rnd, get) })
	}
	e.srv.lane = bounded

	b.Run("upload-visit", func(b *testing.B) {
		var lat []time.Duration
		i := 0
		for b.Loop() {
			i++
			t := time.Now()
			benchDo(b, e, "POST", "/fhir", visitBundle(fmt.Sprintf("scale-visit-%d-%d", time.Now().UnixNano(), i), "2025-12-05"), http.StatusOK)
			lat = append(lat, time.Since(t))
		}
		reportLatency(b, "", lat)
	})
	b.Run("add-weight", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			id := scaleID(rnd.IntN(n))
			body := strings.ReplaceAll(strings.ReplaceAll(weightObs(9.5), "PID", id), "DATE", "2025-12-10")
			t := time.Now()
			benchDo(b, e, "POST", "/fhir/Observation", body, http.StatusCreated)
			lat = append(lat, time.Since(t))
		}
		reportLatency(b, "", lat)
	})
}

// reportLatency reports the p50 and p95 of lat in ms, as metrics
// prefix+"p50-ms" and prefix+"p95-ms".
func reportLatency(b *testing.B, prefix string, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, prefix+"p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, prefix+"p95-ms")
}

// newScaleEnv builds the server `contigo serve` builds on s: the nutrition
// engine as its write hook.
func newScaleEnv(b *testing.B, s *recmongo.Store) *env {
	b.Helper()
	reg := prometheus.NewRegistry()
	nut, err := NewNutrition(NutritionConfig{Key: testKey, Registry: reg, Store: s})
	if err != nil {
		b.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	srv, err := New(Config{
		Service:   records.NewService(s, records.ServiceOptions{Now: clk.Now, OnWrite: nut.OnWrite}),
		Nutrition: nut,
		Countries: []records.Country{"CO", "EC"},
		Key:       testKey,
		MaxBody:   64 << 10,
		Registry:  reg,
		Timeout:   10 * time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	e := &env{t: b, srv: srv, store: s, reg: reg}
	e.admin = e.token(RoleAdmin, "CO", "EC")
	e.hw = e.token(RoleHealthWorker, "CO")
	return e
}

// scaleDataset returns the data dir of the embedded engine holding the
// scale dataset of n persons, building it once.
func scaleDataset(b *testing.B, n int) string {
	b.Helper()
	return mongotest.CachedDataDir(b, fmt.Sprintf("contigo-scale-%s-%d", scaleSchema, n), []records.Country{"CO", "EC"}, func(s *recmongo.Store) { seedScale(b, s, n) })
}

// scaleTemplateRecords writes the template children through a Service with
// the nutrition hook, on s (their records stay there: scaleTemplates more
// persons), and returns them read back.
func scaleTemplateRecords(b *testing.B, s *recmongo.Store) []*records.Person {
	ctx := context.Background()
	nut, err := NewNutrition(NutritionConfig{Key: testKey, Registry: prometheus.NewRegistry(), Store: s})
	if err != nil {
		b.Fatal(err)
	}
	var out []*records.Person
	for k := range scaleTemplates {
		id := fmt.Sprintf("tmpl%022d", k)
		visitAt := func(v int) time.Time { return time.Date(2025, time.Month(2+v), 10, 0, 0, 0, 0, time.UTC) }
		clk := &clock{t: visitAt(0).Add(12 * time.Hour)}
		svc := records.NewService(s, records.ServiceOptions{Now: clk.Now, OnWrite: nut.OnWrite})
		r, err := fhir.Parse([]byte(scalePatient(k, "tmpl-"+fmt.Sprint(k), "Plantilla", "Ana")), "Patient", clk.Now())
		if err != nil {
			b.Fatal(err)
		}
		r.ID = id
		if _, err := svc.Write(ctx, "CO", records.Write{PersonID: id, NewPerson: true, Changes: []records.Change{{Method: "create", Resource: r}}}); err != nil {
			b.Fatal(err)
		}
		muac := []float64{108, 118, 135, 140, 150}[k%5]
		for v := range scaleVisits {
			clk.t = visitAt(v).Add(12 * time.Hour)
			date := visitAt(v).Format(time.DateOnly)
			var changes []records.Change
			for _, body := range []string{weightObs(9 + float64(v)/10), lengthObs(80 + float64(v)/2), muacObs(muac + float64(v%3))} {
				body = strings.ReplaceAll(strings.ReplaceAll(body, "PID", id), "DATE", date)
				o, err := fhir.Parse([]byte(body), "Observation", clk.Now())
				if err != nil {
					b.Fatal(err)
				}
				o.ID = records.NewResourceID(id)
				changes = append(changes, records.Change{Method: "create", Resource: o})
			}
			if _, err := svc.Write(ctx, "CO", records.Write{PersonID: id, Changes: changes}); err != nil {
				b.Fatal(err)
			}
		}
		p, err := svc.Person(ctx, "CO", id)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// scalePatient is the Patient of template k's children.
func scalePatient(k int, ident, family, given string) string {
	return `{"resourceType":"Patient","identifier":[{"system":"urn:contigo:scale","value":"` + ident + `"}],"name":[{"family":"` + family +
		`","given":["` + given + `"]}],"gender":"` + []string{"female", "male"}[k%2] + `","birthDate":"` + scaleBirth(k) +
		`","address":[{"state":"area-` + fmt.Sprint(k%20) + `"}]}`
}

// cloneTemplate returns template t as person i: every occurrence of the
// template's id replaced, and a Patient of its own (name, identifier).
func cloneTemplate(b *testing.B, t *records.Person, i int) *records.Person {
	id := scaleID(i)
	old := []byte(t.ID)
	rep := func(x []byte) []byte { return bytes.ReplaceAll(x, old, []byte(id)) }
	p := &records.Person{ID: id, Country: t.Country, Version: t.Version, Created: t.Created, Updated: t.Updated, Nutrition: rep(t.Nutrition)}
	for _, r := range t.Resources {
		if r.Type == "Patient" {
			pr, err := fhir.Parse([]byte(scalePatient(i%scaleTemplates, scaleIdent(i), scaleFamily(i), scaleGiven(i))), "Patient", r.Updated)
			if err != nil {
				b.Fatal(err)
			}
			pr.ID, pr.Version, pr.Updated = id, r.Version, r.Updated
			p.Resources = append(p.Resources, pr)
			continue
		}
		c := r
		c.ID = strings.Replace(r.ID, t.ID, id, 1)
		c.Body = rep(r.Body)
		c.Keys = records.Keys{}
		for k, vs := range r.Keys {
			nv := make([]string, len(vs))
			for j, v := range vs {
				nv[j] = strings.ReplaceAll(v, t.ID, id)
			}
			c.Keys[k] = nv
		}
		p.Resources = append(p.Resources, c)
	}
	return p
}

// seedScale stores the scale dataset of n persons in CO on s.
func seedScale(b *testing.B, s *recmongo.Store, n int) {
	b.Helper()
	ctx := context.Background()
	tmpls := scaleTemplateRecords(b, s)
	db := s.Client().Database(s.DatabaseName("CO"))
	at := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		var ps []*records.Person
		claims, audits := []any{}, []any{}
		for i := lo; i < min(lo+batch, n); i++ {
			ps = append(ps, cloneTemplate(b, tmpls[i%scaleTemplates], i))
			claims = append(claims, map[string]string{"_id": "identifier:urn:contigo:scale|" + scaleIdent(i), "owner": scaleID(i)})
			t := at.Add(time.Duration(i) * time.Second)
			audits = append(audits,
				map[string]any{"_id": fmt.Sprintf("a1-%d", i), "t": t, "actor": "hw", "role": "health_worker", "cc": "CO", "action": "R",
					"interaction": "read", "rtype": "Patient", "rid": scaleID(i), "person": scaleID(i), "outcome": 200},
				map[string]any{"_id": fmt.Sprintf("a2-%d", i), "t": t.Add(time.Millisecond), "actor": "hw", "role": "health_worker", "cc": "CO",
					"action": "R", "interaction": "search-type", "rtype": "Patient",
					"persons": []string{scaleID(i), scaleID((i + 1) % n), scaleID((i + 2) % n)}, "outcome": 200})
		}
		if err := s.InsertMany(ctx, "CO", ps); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Collection("claims").InsertMany(ctx, claims); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < len(audits); j += 64 {
			if _, err := db.Collection("audit").InsertMany(ctx, audits[j:min(j+64, len(audits))]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// benchReadWhileSearch measures reads by id while 8 clients search by name
// and birth date without pause, and reports how many searches ran per read.
func benchReadWhileSearch(b *testing.B, e *env, n int, rnd *rand.Rand, get func(b *testing.B, tok, path, accept string)) {
	get(b, e.hw, "/fhir/Patient?family="+scaleFamily(0)+"&birthdate="+scaleBirth(0), "") // the index loaded
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var (
		mu        sync.Mutex
		searchLat []time.Duration
	)
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := r.IntN(n)
				t := time.Now()
				req := httptest.NewRequest("GET", "/fhir/Patient?family="+scaleFamily(i)+"&birthdate="+scaleBirth(i%scaleTemplates), nil)
				req.Header.Set("Authorization", "Bearer "+e.hw)
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Errorf("search: %d %s", rec.Code, rec.Body) // not Fatal: another goroutine
					return
				}
				mu.Lock()
				searchLat = append(searchLat, time.Since(t))
				mu.Unlock()
			}
		})
	}
	halt := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer halt() // also when a read fails
	var lat []time.Duration
	for b.Loop() {
		t := time.Now()
		get(b, e.hw, "/fhir/Patient/"+scaleID(rnd.IntN(n)), "")
		lat = append(lat, time.Since(t))
	}
	halt()
	reportLatency(b, "", lat)
	b.ReportMetric(float64(len(searchLat))/float64(b.N), "searches/read")
	reportLatency(b, "search-", searchLat)
}

// heapPeak returns the most heap in use, sampled every 100 ms, until done
// is closed.
func heapPeak(done <-chan struct{}) uint64 {
	var peak uint64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		select {
		case <-done:
			return peak
		case <-tick.C:
		}
	}
}
