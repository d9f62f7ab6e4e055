package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"contigo/records/mongo/mongotest"
)

// visitBundle is a visit of one child as a transaction: an Encounter, a
// weight and a MUAC of 105 mm (severe wasting: an alert), linked by
// urn:uuid. tag makes the Encounter recognisable.
func visitBundle(pid, tag string) string {
	enc := "urn:uuid:" + tag + "-e"
	obs := func(n int, code, unit string, v float64) string {
		return fmt.Sprintf(`{"fullUrl":"urn:uuid:%s-%d","resource":{"resourceType":"Observation","status":"final",`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"%s"}]},"subject":{"reference":"Patient/%s"},"encounter":{"reference":"%s"},`+
			`"effectiveDateTime":"2026-03-02","valueQuantity":{"value":%g,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}},`+
			`"request":{"method":"POST","url":"Observation"}}`, tag, n, code, pid, enc, v, unit, unit)
	}
	return `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"` + enc + `","resource":{"resourceType":"Encounter","status":"finished","identifier":[{"system":"urn:contigo:test","value":"` + tag + `"}],` +
		`"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/` + pid + `"},"period":{"start":"2026-03-02"}},` +
		`"request":{"method":"POST","url":"Encounter"}},` +
		obs(1, "29463-7", "kg", 9.1) + "," + obs(2, "56072-2", "mm", 105) + `]}`
}

// replica is one "contigo serve" on the shared database.
type replica struct {
	srv  *server
	args []string
}

func (r *replica) base() string { return "http://" + r.srv.addr }

// record reads the child's record through r: the Encounters' tags, and for
// each Encounter id how many Observations reference it.
func (r *replica) record(t *testing.T, token, pid string) (tags map[string]string, obsOf map[string]int) {
	t.Helper()
	type entry struct {
		Resource struct {
			ResourceType string
			ID           string
			Identifier   []struct{ Value string }
			Encounter    *struct{ Reference string }
		}
	}
	var entries []entry
	// Follow the next links, as a client does: $everything is paged.
	next := r.base() + "/fhir/Patient/" + pid + "/$everything?_count=200"
	for pages := 0; next != "" && pages < 100; pages++ {
		code, body := call(t, "GET", next, token, "")
		if code != http.StatusOK {
			t.Fatalf("$everything: %d %s", code, body)
		}
		var b struct {
			Link []struct {
				Relation string
				URL      string
			}
			Entry []entry
		}
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, b.Entry...)
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
	}
	b := struct{ Entry []entry }{entries}
	tags, obsOf = map[string]string{}, map[string]int{}
	for _, e := range b.Entry {
		switch res := e.Resource; {
		case res.ResourceType == "Encounter" && len(res.Identifier) > 0:
			if _, dup := tags[res.Identifier[0].Value]; dup {
				t.Errorf("visit %s is in the record twice", res.Identifier[0].Value)
			}
			tags[res.Identifier[0].Value] = res.ID
		case res.ResourceType == "Observation" && res.Encounter != nil:
			obsOf[strings.TrimPrefix(res.Encounter.Reference, "Encounter/")]++
		}
	}
	return tags, obsOf
}

// TestReplicasShareOneDatabase runs two "contigo serve" processes on one
// external FerretDB-on-PostgreSQL server, as a ministry runs replicas on
// its database: 2 x 20 writers append visits to one child, rounds of
// If-Match updates race across both, one replica is SIGKILLed in the middle
// of writes and restarted. Every acknowledged visit is there once and whole
// on both replicas, every round has one winner, and both list the same
// alerts.
func TestReplicasShareOneDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	uri, pgURL := mongotest.StartPostgresURLs(t)
	bin := buildContigo(t)
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "signing.key")
	var reps []*replica
	for range 2 {
		r := &replica{args: []string{"--mongodb-uri", uri, "--postgresql-url", pgURL, "--signing-key", key}}
		r.srv = startServeWith(t, bin, t.TempDir(), r.args...)
		reps = append(reps, r)
	}
	hw := mintTokenRole(t, bin, keyDir, "health-worker")
	lead := mintTokenRole(t, bin, keyDir, "nutrition-lead")
	code, body := call(t, "POST", reps[0].base()+"/fhir/Patient", hw,
		`{"resourceType":"Patient","name":[{"family":"Réplica","given":["Ana"]}],"gender":"female","birthDate":"2024-05-01"}`)
	if code != http.StatusCreated {
		t.Fatalf("create Patient: %d %s", code, body)
	}
	var p struct{ ID string }
	json.Unmarshal(body, &p)

	var mu sync.Mutex
	acked := map[string]bool{}
	writers := func(phase string, dur time.Duration, onlyTo int) *sync.WaitGroup {
		var wg sync.WaitGroup
		deadline := time.Now().Add(dur)
		for w := range 40 {
			r := reps[w%2]
			if onlyTo >= 0 {
				r = reps[onlyTo]
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 6 && time.Now().Before(deadline); i++ {
					tag := fmt.Sprintf("%s-w%02d-%d", phase, w, i)
					code, ok := post(r.base()+"/fhir", hw, visitBundle(p.ID, tag))
					if ok && code == http.StatusOK {
						mu.Lock()
						acked[tag] = true
						mu.Unlock()
					}
				}
			}()
		}
		return &wg
	}
	writers("a", 20*time.Second, -1).Wait()
	if len(acked) == 0 {
		t.Fatal("no visit was acknowledged")
	}
	checkVisits := func(when string) {
		for i, r := range reps {
			tags, obsOf := r.record(t, hw, p.ID)
			for tag := range acked {
				id, ok := tags[tag]
				if !ok {
					t.Errorf("%s: replica %d lost acknowledged visit %s", when, i, tag)
					continue
				}
				if obsOf[id] != 2 {
					t.Errorf("%s: replica %d: visit %s has %d of its 2 measurements", when, i, tag, obsOf[id])
				}
			}
			for tag, id := range tags {
				if obsOf[id] != 2 {
					t.Errorf("%s: replica %d: visit %s (not acknowledged: %v) is half visible: %d of 2 measurements", when, i, tag, !acked[tag], obsOf[id])
				}
			}
		}
	}
	checkVisits("after concurrent writers")
	t.Logf("%d visits acknowledged by 2 replicas x 20 writers", len(acked))

	// If-Match rounds: four writers, two per replica, update the Patient
	// from the same version; exactly one wins. A third replica that only
	// reads the Patient (from its head, having no cached record, unless a
	// commit after the head exists) shows the winner's version as soon as
	// the round ends.
	reader := startServeWith(t, bin, t.TempDir(), reps[0].args...)
	for round := range 10 {
		code, body := call(t, "GET", reps[round%2].base()+"/fhir/Patient/"+p.ID, hw, "")
		if code != http.StatusOK {
			t.Fatalf("read Patient: %d %s", code, body)
		}
		var cur struct{ Meta struct{ VersionID string } }
		json.Unmarshal(body, &cur)
		var wg sync.WaitGroup
		var wins, lost int
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				upd := fmt.Sprintf(`{"resourceType":"Patient","id":"%s","name":[{"family":"Réplica","given":["Ana","r%dw%d"]}],"gender":"female","birthDate":"2024-05-01"}`, p.ID, round, w)
				code := putIfMatch(reps[w%2].base()+"/fhir/Patient/"+p.ID, hw, cur.Meta.VersionID, upd)
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case http.StatusOK:
					wins++
				case http.StatusPreconditionFailed:
					lost++
				default:
					t.Errorf("round %d: PUT answered %d", round, code)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || lost != 3 {
			t.Errorf("If-Match round %d: %d winners, %d refused; want 1 and 3", round, wins, lost)
		}
		code, body = call(t, "GET", "http://"+reader.addr+"/fhir/Patient/"+p.ID, hw, "")
		var after struct{ Meta struct{ VersionID string } }
		json.Unmarshal(body, &after)
		if v, _ := strconv.Atoi(cur.Meta.VersionID); code != http.StatusOK || after.Meta.VersionID != strconv.Itoa(v+1) {
			t.Errorf("round %d: the reading replica answered %d with version %q after the winner wrote version %d", round, code, after.Meta.VersionID, v+1)
		}
	}

	// SIGKILL replica 0 while 40 writers write through it and replica 1.
	wg := writers("b", 15*time.Second, -1)
	time.Sleep(3 * time.Second)
	if err := reps[0].srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-reps[0].srv.done
	wg.Wait()
	reps[0].srv = startServeWith(t, bin, t.TempDir(), reps[0].args...)
	checkVisits("after SIGKILL of a replica and restart")

	// The same alerts through both replicas.
	var lists [][]string
	for _, r := range reps {
		code, body := call(t, "GET", r.base()+"/alerts?count=200", lead, "")
		if code != http.StatusOK {
			t.Fatalf("GET /alerts: %d %s", code, body)
		}
		var a struct {
			Alerts []struct{ ID, Kind, Status string }
		}
		json.Unmarshal(body, &a)
		var ids []string
		for _, x := range a.Alerts {
			ids = append(ids, x.ID+"/"+x.Kind+"/"+x.Status)
		}
		slices.Sort(ids)
		lists = append(lists, ids)
	}
	if len(lists[0]) == 0 || !slices.Equal(lists[0], lists[1]) {
		t.Errorf("alerts differ between replicas or are missing:\n%v\n%v", lists[0], lists[1])
	}
}

// A second process on the embedded engine's data directory is refused at
// start with a message that says why, instead of losing writes.
func TestEmbeddedDataDirLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildContigo(t)
	dir := t.TempDir()
	startServe(t, bin, dir)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	cmd.Env = append(cmd.Environ(), "CONTIGO_MONGODB_URI=")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatal("a second serve on the same data directory is still running after a minute")
	}
	if err == nil || !strings.Contains(string(out), "locked by process") {
		t.Errorf("second serve on the same data directory: %v\n%s", err, out)
	}
}
