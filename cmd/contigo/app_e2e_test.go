package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"golang.org/x/text/language"

	"contigo/i18n"
	"contigo/web"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip,
// except under CI=true, where a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (.ci/run installs it)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// e2e is one browser tab on the app of a two-node federation.
type e2e struct {
	t      *testing.T
	ctx    context.Context // the tab
	co, ec string          // user addresses
	bin    string
	dir    string
	shots  string // where screenshots go
	dl     string // where downloads go
}

// run runs browser steps with a bounded deadline.
func (e *e2e) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		e.failure(what, err)
	}
}

// failure ends the test, with a screenshot and the page's text to look at.
func (e *e2e) failure(what string, err error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	if b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(e.shots, "failure.png"), b, 0o644)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	e.t.Fatalf("%s: %v\npage (screenshot failure.png in %s):\n%s", what, err, e.shots, text)
}

// eval returns the value of a JavaScript expression.
func eval[T any](e *e2e, expr string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		e.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits (bounded) until a JavaScript expression is truthy.
func (e *e2e) waitJS(what, expr string) {
	e.t.Helper()
	e.run(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))(ctx, t)
		return chromedp.Void{}, err
	})
}

// shot writes a full-page PNG screenshot named name after checking that
// every selector in keys is on the page; it checks the PNG's width.
func (e *e2e) shot(name string, keys ...string) {
	e.t.Helper()
	for _, k := range keys {
		e.waitJS("screen "+name+" shows "+k, fmt.Sprintf(`(() => { const n = document.querySelector(%q); return n && n.offsetParent !== null; })()`, k))
	}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		e.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		e.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if w := img.Bounds().Dx(); w != 360 {
		e.t.Errorf("screenshot %s is %d px wide, want 360 (the app must fit a 360 px screen)", name, w)
	}
	if err := os.WriteFile(filepath.Join(e.shots, name+".png"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// A throttleProfile is a network a first load is measured on.
type throttleProfile struct {
	name       string
	latency    float64 // ms, request sent to response headers
	down, up   float64 // bytes per second
	conditions string  // as README quotes it
}

// The profiles: Chrome DevTools' "3G" preset (formerly "Fast 3G": 150 ms
// x 3.75 latency, 1.6 Mbit/s and 750 kbit/s x 0.9) and the network
// Lighthouse simulates for mobile (150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up).
var throttleProfiles = []throttleProfile{
	{"DevTools 3G", 562.5, 1.6e6 / 8 * 0.9, 750e3 / 8 * 0.9, "562.5 ms latency, 1.44 Mbit/s down, 675 kbit/s up"},
	{"Lighthouse mobile", 150, 1.6384e6 / 8, 750e3 / 8, "150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up"},
}

// firstScreen is what the page says of its first load: the time of the
// "contigo-first-screen" mark (the sign-in form shown, translated and its
// handlers set) from the navigation's start, and every request started
// before it (Resource Timing: the document and the resources).
type firstScreen struct {
	At       float64 `json:"at"` // ms
	Requests []struct {
		Path      string  `json:"path"`
		Transfer  float64 `json:"transfer"`  // bytes on the wire, headers included; 0 from a cache
		Body      float64 `json:"body"`      // encoded (gzip) body bytes
		Start     float64 `json:"start"`     // ms
		End       float64 `json:"end"`       // ms
		Initiator string  `json:"initiator"` // navigation, link, script, fetch...
	} `json:"requests"`
}

// coldLoads opens the app for the first time (browser cache, service
// worker and storage of the origin cleared) on each throttled profile.
// It asserts what is deterministic: the first screen asks for the page,
// its style sheet, its two scripts and one message catalogue (preloaded
// by the page's Link header, so two round trips in all), nothing else but
// the icon and manifest and nothing from a cache, within the byte budget;
// and it logs how long the first screen took (a measurement, not an
// assertion: machines are noisy).
func (e *e2e) coldLoads() {
	e.t.Helper()
	origin := "http://" + e.co
	for _, prof := range throttleProfiles {
		e.run("clear the origin", chromedp.Navigate("about:blank"), func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return chromedp.Void{}, err
			}
			if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
				return chromedp.Void{}, err
			}
			if _, err := chromedp.Call(ctx, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: origin, StorageTypes: "all"}); err != nil {
				return chromedp.Void{}, err
			}
			_, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{Latency: prof.latency, DownloadThroughput: prof.down, UploadThroughput: prof.up, ConnectionType: network.ConnectionTypeCellular3g}}})
			return chromedp.Void{}, err
		})
		start := time.Now()
		e.run("cold load", chromedp.Navigate(origin+"/app/"))
		e.waitJS("first screen", `performance.getEntriesByName("contigo-first-screen").length > 0`)
		wall := time.Since(start)
		fs := eval[firstScreen](e, `(() => {
			const at = performance.getEntriesByName("contigo-first-screen")[0].startTime;
			const all = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
			return { at, requests: all.filter((r) => r.startTime < at).map((r) => ({ path: new URL(r.name).pathname, transfer: r.transferSize, body: r.encodedBodySize, start: r.startTime, end: r.responseEnd, initiator: r.initiatorType })) };
		})()`)
		var bytes, lastByte float64
		var paths []string
		for _, r := range fs.Requests {
			e.t.Logf("%s: %-28s %-10s %6.0f bytes, %5.0f-%5.0f ms", prof.name, r.Path, r.Initiator, r.Transfer, r.Start, r.End)
			lastByte = max(lastByte, r.End)
			bytes += r.Transfer
			paths = append(paths, r.Path)
			if r.Transfer == 0 {
				e.t.Errorf("%s: %s came from a cache on a cold load", prof.name, r.Path)
			}
			if strings.HasPrefix(r.Path, "/app/messages/") && r.Initiator != "link" {
				e.t.Errorf("%s: %s was not preloaded (initiator %s): the page's Link header names it, so it comes with the scripts", prof.name, r.Path, r.Initiator)
			}
			if !slices.Contains(web.Shell, strings.TrimPrefix(r.Path, "/app/")) {
				e.t.Errorf("%s: the first screen asked for %s, which is not in the app shell", prof.name, r.Path)
			}
		}
		// The page, app.css, app.js, common.js and one catalogue, once each;
		// besides them the browser may ask for the icon and the manifest,
		// which nothing waits for.
		slices.Sort(paths)
		var critical []string
		for _, p := range paths {
			if p != "/app/icon.svg" && p != "/app/manifest.webmanifest" {
				critical = append(critical, p)
			}
		}
		if len(critical) != 5 || !slices.Equal(critical[:4], []string{"/app/", "/app/app.css", "/app/app.js", "/app/common.js"}) ||
			!slices.ContainsFunc(i18n.Languages, func(l language.Tag) bool { return critical[4] == "/app/messages/"+l.String()+".json" }) {
			e.t.Errorf("%s: the first screen asked for %v, want the page, app.css, app.js, common.js and one catalogue (and perhaps the icon and the manifest)", prof.name, paths)
		}
		// The first screen may cost on the wire, headers included, what the
		// app shell may.
		if bytes > web.ShellBudget {
			e.t.Errorf("%s: the first screen took %.0f bytes on the wire, over %d", prof.name, bytes, web.ShellBudget)
		}
		e.t.Logf("cold first screen on %s (%s): usable at %.0f ms after navigation start (%v by the test's clock; its last byte at %.0f ms); %d requests (%d it waits for), %.0f bytes on the wire (headers included)",
			prof.name, prof.conditions, fs.At, wall.Round(10*time.Millisecond), lastByte, len(paths), len(critical), bytes)
	}
	e.offline(false) // clears the throttling
}

// offline switches the tab's network off or back on.
func (e *e2e) offline(off bool) {
	e.t.Helper()
	e.run("network offline="+fmt.Sprint(off), func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		var rules []*network.Conditions
		if off {
			rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
		}
		yes := true
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{EmulateOfflineServiceWorker: &yes, MatchedNetworkConditions: rules}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return chromedp.Void{}, err
	})
}

// token mints a token with contigo token for role in cc.
func (e *e2e) token(role, cc string) string {
	e.t.Helper()
	out, err := exec.Command(e.bin, "token", "--role", role, "--country", cc, "--data-dir", filepath.Join(e.dir, strings.ToLower(cc)), "--ttl", "1h", "--subject", role+"-"+cc).Output()
	if err != nil {
		e.t.Fatalf("contigo token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestAppEndToEnd drives the health worker's app and the sector lead's
// dashboard in headless Chromium against two real nodes (CO, EC), in
// Spanish and then in Portuguese: a health worker in CO finds a child
// registered in EC, registers and links it, sees the growth charts,
// records a visit that raises a severe wasting alert, goes offline,
// records another, comes back online, and both visits are stored exactly
// once; a lead filters and acknowledges the alert and downloads the CSV.
func TestAppEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two nodes and a browser")
	}
	chrome := chromiumPath(t)
	bin := buildContigo(t)
	dir, co, ec := startPair(t, bin)
	e := &e2e{t: t, co: co, ec: ec, bin: bin, dir: dir, shots: os.Getenv("CONTIGO_E2E_SCREENSHOTS"), dl: t.TempDir()}
	if e.shots == "" {
		e.shots = t.TempDir()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(360, 780))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780)); err != nil { // starts the one browser
		t.Fatalf("start chromium: %v", err)
	}
	e.ctx = ctx
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: "allow", DownloadPath: e.dl}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	e.coldLoads()
	for _, lang := range []string{"es", "pt"} {
		ok := t.Run(lang, func(t *testing.T) {
			e.t = t
			e.flow(lang)
		})
		if !ok {
			break
		}
	}
}

// flow is the whole story in one language.
func (e *e2e) flow(lang string) {
	t := e.t
	p := i18n.New(language.Make(lang))
	hwCO, hwEC, lead := e.token("health-worker", "CO"), e.token("health-worker", "EC"), e.token("nutrition-lead", "CO")
	// The child was registered in EC a few months ago, with consent to share.
	birth := time.Now().UTC().AddDate(0, -20, 0).Format(time.DateOnly)
	ident := "V-2020" + lang
	given, family := map[string]string{"es": "Valentina", "pt": "Júlia"}[lang], "Mendoza"
	st, body := call(t, "POST", "http://"+e.ec+"/fhir/Patient", hwEC, `{"resourceType":"Patient","identifier":[{"system":"urn:ve:cedula","value":"`+ident+`"}],"name":[{"family":"`+family+`","given":["`+given+`"]}],"gender":"female","birthDate":"`+birth+`"}`)
	if st != 201 {
		t.Fatalf("register in EC: %d %s", st, body)
	}
	var ecPatient struct{ ID string }
	json.Unmarshal(body, &ecPatient)
	earlier := time.Now().UTC().AddDate(0, -3, 0).Format(time.DateOnly)
	for _, r := range []string{
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/` + ecPatient.ID + `"},"effectiveDateTime":"` + earlier + `","valueQuantity":{"value":8.1,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`,
		`{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/` + ecPatient.ID + `"},"policyRule":{"text":"share"},"provision":{"type":"permit"}}`,
	} {
		typ := "Observation"
		if strings.Contains(r, `"Consent"`) {
			typ = "Consent"
		}
		if st, body := call(t, "POST", "http://"+e.ec+"/fhir/"+typ, hwEC, r); st != 201 {
			t.Fatalf("EC %s: %d %s", typ, st, body)
		}
	}

	// Sign in, in the language asked.
	app := "http://" + e.co + "/app/"
	e.run("open app", chromedp.Navigate(app))
	e.waitJS("app started", `document.querySelector("#signin:not([hidden]), #search:not([hidden])") !== null`)
	eval[chromedp.Void](e, `localStorage.clear(); localStorage.setItem("contigo.lang", "`+lang+`"); undefined`)
	e.run("sign in", chromedp.Navigate(app), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), hwCO), chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#search")))
	if got := eval[string](e, `document.querySelector("#search h2").textContent`); got != p.T("app.search") {
		t.Errorf("search heading %q, want %q", got, p.T("app.search"))
	}

	// Find the child by name and birth date: EC's record, with its grade.
	e.run("search", chromedp.SetValue(chromedp.CSS("#q-given"), given), chromedp.SetValue(chromedp.CSS("#q-family"), family),
		chromedp.SetValue(chromedp.CSS("#q-birth"), birth), chromedp.SetValue(chromedp.CSS("#q-sex"), "female"),
		chromedp.Click(chromedp.CSS(`#search-name button[type=submit]`)))
	e.waitJS("EC candidate", `document.querySelector('#results li[data-country="EC"]') !== null`)
	card := eval[string](e, `document.querySelector('#results li[data-country="EC"]').textContent`)
	if !strings.Contains(card, p.T("app.registered_in", p.T("country.EC"))) || !strings.Contains(card, given) {
		t.Errorf("candidate card %q", card)
	}
	grade := eval[string](e, `(document.querySelector('#results li[data-country="EC"] .grade') || {}).textContent || ""`)
	if !strings.Contains(grade, p.T("app.grade.certain")) && !strings.Contains(grade, p.T("app.grade.probable")) && !strings.Contains(grade, p.T("app.grade.possible")) {
		t.Errorf("candidate without a grade and reason: %q", grade)
	}
	// The evidence, field by field, in the health worker's language: the
	// child was asked for by the name, sex and birth date EC holds.
	evidence := eval[map[string]string](e, `Object.fromEntries([...document.querySelectorAll('#results li[data-country="EC"] .evidence .ev')].map((s) => [s.dataset.field + ":" + s.dataset.level, s.textContent]))`)
	for _, fl := range [][2]string{{"given", "exact"}, {"family", "exact1"}, {"birthdate", "exact"}, {"sex", "agree"}} {
		want := p.T("match.item", p.T("match.field."+fl[0]), p.T("match."+fl[0]+"."+fl[1]))
		if got := evidence[fl[0]+":"+fl[1]]; got != want {
			t.Errorf("evidence %s:%s shows %q, want %q (all: %v)", fl[0], fl[1], got, want, evidence)
		}
	}
	if label := eval[string](e, `document.querySelector('#results li[data-country="EC"] .evidence .ev-label').textContent`); label != p.T("match.evidence") {
		t.Errorf("evidence label %q, want %q", label, p.T("match.evidence"))
	}
	e.shot(lang+"-1-search", `#results li[data-country="EC"] .grade`, `#results li[data-country="EC"] .evidence .ev-agree`, `#results li[data-country="EC"] button`)

	// Register here and link: the record reads across, with charts.
	e.run("link", chromedp.Click(chromedp.CSS(`#results li[data-country="EC"] button`)), chromedp.WaitVisible(chromedp.CSS("#record")))
	e.waitJS("EC visit in the timeline", `document.querySelector('#timeline li[data-country="EC"]') !== null`)
	e.waitJS("chart drawn", `document.getElementById("chart").complete && document.getElementById("chart").naturalWidth > 0`)
	e.shot(lang+"-2-record", "#rec-name", `#timeline li[data-country="EC"]`, "#chart")

	// Today's visit: severely wasted.
	e.visit("7.0", "80", "108")
	e.waitJS("severe wasting alert", `document.querySelector('#rec-alerts .alert[data-kind="new_severe_wasting"]') !== null`)
	alertText := eval[string](e, `document.querySelector('#rec-alerts .alert[data-kind="new_severe_wasting"]').textContent`)
	if want := p.T("app.alert", p.T("alert.new_severe_wasting"), p.T("severity.high")); !strings.Contains(alertText, want) {
		t.Errorf("alert %q, want %q", alertText, want)
	}
	e.run("show wfa chart", chromedp.Click(chromedp.CSS(`#chart-tabs [data-ind="wfa"]`)))
	e.waitJS("wfa chart", `document.getElementById("chart").dataset.indicator === "wfa" && document.getElementById("chart").naturalWidth > 0`)
	e.shot(lang+"-3-alert", `#rec-alerts .alert[data-kind="new_severe_wasting"]`, "#chart")

	// Offline: the next visit waits in the visible queue.
	e.offline(true)
	e.waitJS("offline shown", `navigator.onLine === false`)
	e.visit("7.1", "80.2", "109")
	e.waitJS("queued", `!document.getElementById("queue").hidden && JSON.parse(localStorage.getItem("contigo.queue")).length === 1`)
	if got, want := eval[string](e, `document.getElementById("queue-count").textContent`), p.T("app.queue_count", 1); got != want {
		t.Errorf("queue says %q, want %q", got, want)
	}
	queued := eval[string](e, `JSON.parse(localStorage.getItem("contigo.queue"))[0].bundle`)
	e.shot(lang+"-4-offline-queue", "#queue", "#queue-list li")

	// Online again: the queue empties by itself.
	e.offline(false)
	e.waitJS("queue uploaded", `document.getElementById("queue").hidden && JSON.parse(localStorage.getItem("contigo.queue") || "[]").length === 0`)

	// Both visits are stored, once each, and the same Bundle again is a replay.
	st, body = call(t, "GET", "http://"+e.co+"/fhir/Patient?identifier=urn:ve:cedula|"+ident, hwCO, "")
	var found struct {
		Entry []struct{ Resource struct{ ID string } }
	}
	if json.Unmarshal(body, &found); st != 200 || len(found.Entry) != 1 {
		t.Fatalf("CO record: %d %s", st, body)
	}
	coID := found.Entry[0].Resource.ID
	count := func() (encounters, weights int) {
		st, body := call(t, "GET", "http://"+e.co+"/fhir/Patient/"+coID+"/$everything?_count=1000", hwCO, "")
		if st != 200 {
			t.Fatalf("$everything: %d %s", st, body)
		}
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType string
					Code         struct{ Coding []struct{ Code string } }
				}
			}
		}
		json.Unmarshal(body, &b)
		for _, en := range b.Entry {
			switch {
			case en.Resource.ResourceType == "Encounter":
				encounters++
			case en.Resource.ResourceType == "Observation" && len(en.Resource.Code.Coding) > 0 && en.Resource.Code.Coding[0].Code == "29463-7":
				weights++
			}
		}
		return encounters, weights
	}
	if enc, w := count(); enc != 2 || w != 2 {
		t.Errorf("CO record holds %d encounters and %d weights, want 2 and 2", enc, w)
	}
	if st, body := call(t, "POST", "http://"+e.co+"/fhir", hwCO, queued); st != 200 {
		t.Errorf("replay of the queued Bundle: %d %s", st, body)
	}
	if enc, w := count(); enc != 2 || w != 2 {
		t.Errorf("after a replay the record holds %d encounters and %d weights, want 2 and 2", enc, w)
	}

	// Consent and referral from the record screen.
	eval[chromedp.Void](e, `document.querySelectorAll("#record details").forEach(d => d.open = true); undefined`)
	e.run("consent", chromedp.Click(chromedp.CSS(`#consent-permit`)))
	e.waitJS("consent recorded", `document.getElementById("rec-msg").textContent === `+jsString(p.T("app.consent_saved")))
	e.run("refer", chromedp.SetValue(chromedp.CSS("#r-country"), "EC"), chromedp.SetValue(chromedp.CSS("#r-reason"), "family moves on"),
		chromedp.Click(chromedp.CSS(`#refer button[type=submit]`)))
	e.waitJS("referred", `document.getElementById("rec-msg").textContent === `+jsString(p.T("app.referred", p.T("country.EC"))))

	// The lead filters, acknowledges the alert and downloads the CSV.
	eval[chromedp.Void](e, `localStorage.removeItem("contigo.token"); undefined`) // the health worker signs out
	e.run("lead", chromedp.Navigate(app+"lead/"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), lead), chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#dash")))
	e.waitJS("alerts listed", `document.querySelectorAll("#alerts tbody tr").length > 0`)
	eval[chromedp.Void](e, `document.querySelector("#alerts tbody").replaceChildren(); document.getElementById("alerts-msg").textContent = ""; undefined`)
	e.run("filter", chromedp.SetValue(chromedp.CSS("#f-kind"), "new_severe_wasting"), chromedp.SetValue(chromedp.CSS("#f-status"), "open"),
		chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
	e.waitJS("filtered", `document.getElementById("alerts-msg").textContent === `+jsString(p.T("lead.total", 1))+
		` && document.querySelectorAll("#alerts tbody tr").length === 1 && document.querySelector("#alerts tbody tr").dataset.status === "open"`)
	if kind := eval[string](e, `document.querySelector("#alerts tbody tr td:nth-child(2)").textContent`); kind != p.T("alert.new_severe_wasting") {
		t.Errorf("filtered alert kind %q", kind)
	}
	alertID := eval[string](e, `document.querySelector("#alerts tbody tr").dataset.id`)
	e.run("acknowledge", chromedp.SetValue(chromedp.CSS(`#alerts tbody tr select`), "acknowledged"),
		chromedp.SetValue(chromedp.CSS(`#alerts tbody tr input`), "seen by the lead"),
		chromedp.Click(chromedp.CSS(`#alerts tbody tr button`)))
	e.waitJS("acknowledged", `document.querySelector('#alerts tbody tr[data-status="acknowledged"]') !== null`)
	e.shot(lang+"-5-lead", `#alerts tbody tr[data-status="acknowledged"]`, "#ind-table")
	st, body = call(t, "GET", "http://"+e.co+"/alerts?country=CO&status=acknowledged&kind=new_severe_wasting", lead, "")
	if st != 200 || !strings.Contains(string(body), alertID) || !strings.Contains(string(body), "seen by the lead") {
		t.Errorf("acknowledged alert: %d %s", st, body)
	}
	csv := filepath.Join(e.dl, "alerts-CO.csv")
	os.Remove(csv)
	e.run("csv", chromedp.SetValue(chromedp.CSS("#f-status"), ""), chromedp.Click(chromedp.CSS("#csv")))
	deadline := time.Now().Add(30 * time.Second)
	var data []byte
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(csv); err == nil && len(b) > 0 {
			data = b
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !bytes.HasPrefix(data, []byte("id,kind,severity,status")) || !bytes.Contains(data, []byte(alertID+",new_severe_wasting,high,acknowledged")) {
		t.Errorf("downloaded CSV:\n%s", data)
	}
}

// visit fills and saves today's visit form: lying length, oedema absent.
func (e *e2e) visit(weight, length, muac string) {
	e.run("visit", chromedp.SetValue(chromedp.CSS("#v-weight"), weight), chromedp.SetValue(chromedp.CSS("#v-length"), length),
		chromedp.Click(chromedp.CSS(`input[name="v-pos"][value="lying"]`)), chromedp.SetValue(chromedp.CSS("#v-muac"), muac),
		chromedp.SetValue(chromedp.CSS("#v-oedema"), "absent"), chromedp.Click(chromedp.CSS(`#visit button[type=submit]`)))
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
