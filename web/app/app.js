// Contigo health worker's app: find a child across countries, read the
// record with growth charts, record today's visit (queued on the device
// when offline and uploaded as the same transaction Bundle later), refer,
// record consent. It uses only the public API.
"use strict";
(() => {
  const { t, el, api, say } = C;
  const $ = (id) => document.getElementById(id);
  const COUNTRY_TAG = "https://contigo.example/fhir/CodeSystem/country";
  const GRADE_EXT = "http://hl7.org/fhir/StructureDefinition/match-grade";
  const EVIDENCE_EXT = "https://contigo.example/fhir/StructureDefinition/match-evidence";
  const ISO_COUNTRY = "urn:iso:std:iso:3166";
  const NUT = "https://contigo.example/fhir/CodeSystem/nutrition";
  const ALERT = "https://contigo.example/fhir/CodeSystem/nutrition-alert";
  const ANTHRO = "https://contigo.example/fhir/CodeSystem/anthro-indicator";
  const LOINC = { weight: "29463-7", height: "8302-2", length: "8306-3", standing: "8308-9", muac: "56072-2" };
  let current = null; // {cc, id, patient}
  let indicator = "wflh";
  let chartURL = "";

  function show(id) {
    for (const s of ["signin", "search", "record"]) $(s).hidden = s !== id;
    $("signout").hidden = id === "signin";
    const c = C.claims();
    $("who").textContent = c && id !== "signin" ? t("app.signed_in", c.sub || "", c.role || "", (c.countries || []).join(",")) : "";
  }
  function home() { return C.countries()[0] || "CO"; }
  function today() {
    const d = new Date();
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function tagOf(res) {
    const tag = ((res.meta && res.meta.tag) || []).find((x) => x.system === COUNTRY_TAG);
    return tag ? tag.code : "";
  }
  function gender(p) { return p.gender ? t("app.gender." + p.gender) : ""; }
  function nameOf(p) {
    const n = (p.name || [])[0] || {};
    return n.text || [...(n.given || []), n.family || ""].join(" ").trim() || "—";
  }

  // ---- network state and the upload queue (localStorage, so it survives
  // a closed tab, a restart and a lost connection) ----
  const QKEY = "contigo.queue";
  const queue = () => JSON.parse(localStorage.getItem(QKEY) || "[]");
  const saveQueue = (q) => { localStorage.setItem(QKEY, JSON.stringify(q)); renderQueue(); };
  function renderQueue() {
    const q = queue();
    $("queue").hidden = q.length === 0;
    $("queue-count").textContent = q.length ? t("app.queue_count", q.filter((x) => !x.error).length) : t("app.queue_empty");
    const ul = $("queue-list");
    ul.replaceChildren(...q.map((x) => el("li", { "data-key": x.key },
      t("app.queue_item", x.name || x.id, C.countryName(x.cc), new Date(x.created).toLocaleString(C.lang())),
      x.error ? el("span", { class: "err" }, " ", t("app.queue_failed", x.error), " ",
        el("button", { type: "button", onclick: () => saveQueue(queue().filter((y) => y.key !== x.key)), text: t("app.queue_discard") })) : null)));
  }
  let flushing = false;
  async function flush() {
    if (flushing || !C.validToken()) return;
    flushing = true;
    let uploaded = false;
    try {
      for (const item of queue()) {
        if (item.error) continue;
        try {
          await api(`/countries/${item.cc}/fhir`, { method: "POST", body: item.bundle });
          saveQueue(queue().filter((y) => y.key !== item.key));
          uploaded = true;
        } catch (e) {
          if (e instanceof C.ApiError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429 && e.status !== 401) {
            saveQueue(queue().map((y) => (y.key === item.key ? Object.assign(y, { error: e.message }) : y)));
            continue;
          }
          break; // offline or the server is unwell: try again later, in order
        }
      }
    } finally {
      flushing = false;
    }
    if (uploaded && current) openRecord(current.cc, current.id, t("app.visit_saved"));
  }
  function renderNet() {
    const on = navigator.onLine;
    $("net").textContent = on ? t("app.online") : t("app.offline");
    $("net").className = "net " + (on ? "on" : "off");
  }
  window.addEventListener("online", () => { renderNet(); flush(); });
  window.addEventListener("offline", renderNet);
  setInterval(flush, 15000);

  // ---- sign in ----
  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const tok = $("token").value.trim();
    C.signIn(tok);
    if (!C.validToken()) { C.signOut(); say($("signin-msg"), t("app.token_bad"), "bad"); $("token").focus(); return; }
    try {
      await api(`/countries/${home()}/fhir/Patient?_summary=count`);
    } catch (e) {
      if (e instanceof C.ApiError && e.status === 401) { C.signOut(); say($("signin-msg"), t("app.token_bad"), "bad"); return; }
    }
    $("token").value = "";
    show("search");
    $("q-identifier").focus();
    flush();
  });
  $("signout").addEventListener("click", () => { C.signOut(); show("signin"); });

  // ---- search ----
  // evidence shows, field by field, how a $match candidate compares with
  // the child asked for (the match-evidence extensions): "given names:
  // exact · family names: both surnames · birth date: exact", each marked
  // as agreeing (weight > 0) or not, so that a probable can be judged.
  function evidence(search) {
    const items = ((search && search.extension) || []).filter((x) => x.url === EVIDENCE_EXT).map((x) => {
      const sub = (u) => (x.extension || []).find((y) => y.url === u) || {};
      return { field: sub("field").valueCode || "", level: sub("level").valueCode || "", weight: sub("weight").valueDecimal || 0 };
    }).filter((e) => e.field && e.level);
    if (!items.length) return null;
    const kids = [];
    items.forEach((e, i) => {
      const field = C.tOr("match.field." + e.field, e.field);
      const level = C.tOr("match." + e.field + "." + e.level, e.level);
      const kind = e.weight > 0 ? "agree" : e.weight < 0 ? "differ" : "neutral";
      if (i) kids.push(t("match.sep"));
      kids.push(el("span", { class: "ev ev-" + kind, "data-field": e.field, "data-level": e.level }, t("match.item", field, level)));
    });
    return el("p", { class: "evidence" }, el("span", { class: "ev-label", text: t("match.evidence") }), " ", ...kids);
  }
  // unanswered names the countries missing from a federated answer (the
  // country coding of each outcome issue), in the app's language.
  function unanswered(outcomes) {
    const names = outcomes.flatMap((o) => (o.resource.issue || []).map((i) => {
      const cc = (((i.details || {}).coding) || []).find((c) => c.system === ISO_COUNTRY);
      return cc ? C.countryName(cc.code) : (i.details && i.details.text) || i.diagnostics || "";
    })).filter(Boolean);
    return names.length ? t("app.unanswered", [...new Set(names)].join(t("app.list_sep"))) : "";
  }
  function renderResults(bundle) {
    const es = (bundle.entry || []).filter((e) => e.resource && e.resource.resourceType === "Patient");
    const out = es.map((e) => {
      const p = e.resource;
      const cc = tagOf(p) || home();
      const g = ((e.search && e.search.extension) || []).find((x) => x.url === GRADE_EXT);
      const grade = g ? g.valueCode : "";
      const mine = C.countries().includes(cc);
      return el("li", { class: "card", "data-country": cc },
        el("strong", { text: nameOf(p) }), " ",
        el("span", { text: [p.birthDate, gender(p)].filter(Boolean).join(" · ") }),
        el("div", { text: t("app.registered_in", C.countryName(cc)) }),
        grade ? el("div", { class: "grade grade-" + grade },
          el("strong", { text: t("app.grade." + grade) }), ": ", t("app.reason." + grade),
          e.search.score !== undefined ? " (" + t("app.score", e.search.score) + ")" : "") : null,
        grade ? evidence(e.search) : null,
        el("button", { type: "button", onclick: () => (mine ? openRecord(cc, p.id) : linkHere(cc, p)), text: mine ? t("app.open") : t("app.link_here") }));
    });
    $("results").replaceChildren(...out);
    $("register").hidden = false;
    const miss = (bundle.entry || []).filter((e) => e.resource && e.resource.resourceType === "OperationOutcome");
    say($("search-msg"), out.length ? "" : t("app.no_results"));
    if (miss.length) say($("search-msg"), unanswered(miss));
  }
  $("search-id").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say($("search-msg"), t("app.searching"));
    try {
      renderResults(await api(`/countries/${home()}/fhir/Patient?identifier=${encodeURIComponent($("q-identifier").value.trim())}&_federated=true`));
    } catch (e) { say($("search-msg"), C.errorText(e), "bad"); }
  });
  function formPatient() {
    const p = { resourceType: "Patient", name: [{ family: $("q-family").value.trim(), given: $("q-given").value.trim().split(/\s+/) }], gender: $("q-sex").value, birthDate: $("q-birth").value };
    const idv = $("q-identifier").value.trim();
    if (idv.includes("|")) { const [system, value] = idv.split("|"); p.identifier = [{ system, value }]; }
    return p;
  }
  $("search-name").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    say($("search-msg"), t("app.searching"));
    const params = { resourceType: "Parameters", parameter: [{ name: "resource", resource: formPatient() }] };
    try {
      renderResults(await api(`/countries/${home()}/fhir/Patient/$match?_federated=true`, { method: "POST", body: JSON.stringify(params) }));
    } catch (e) { say($("search-msg"), C.errorText(e), "bad"); }
  });
  $("register").addEventListener("click", async () => {
    if (!$("search-name").reportValidity()) return;
    try {
      const p = await api(`/countries/${home()}/fhir/Patient`, { method: "POST", body: JSON.stringify(formPatient()) });
      openRecord(home(), p.id);
    } catch (e) { say($("search-msg"), C.errorText(e), "bad"); }
  });
  // linkHere registers the child in this country from the other country's
  // Patient and links the two records, so that the record reads across.
  async function linkHere(cc, remote) {
    const p = { resourceType: "Patient" };
    for (const k of ["identifier", "name", "gender", "birthDate"]) if (remote[k]) p[k] = remote[k];
    try {
      const mine = await api(`/countries/${home()}/fhir/Patient`, { method: "POST", body: JSON.stringify(p) });
      await api(`/countries/${home()}/fhir/Patient/${mine.id}/$link`, { method: "POST", body: JSON.stringify({ resourceType: "Parameters", parameter: [{ name: "country", valueCode: cc }, { name: "patient", valueString: remote.id }] }) });
      openRecord(home(), mine.id);
    } catch (e) { say($("search-msg"), C.errorText(e), "bad"); }
  }

  // ---- the record ----
  function code(r) { return ((r.code && r.code.coding) || [])[0] || {}; }
  function timeline(entries) {
    const visits = new Map();
    for (const e of entries) {
      const r = e.resource;
      if (!r || r.resourceType !== "Observation") continue;
      const c = code(r);
      const date = (r.effectiveDateTime || "").slice(0, 10);
      const cc = tagOf(r) || current.cc;
      const key = date + " " + cc;
      if (!visits.has(key)) visits.set(key, { date, cc, parts: [] });
      const v = r.valueQuantity && r.valueQuantity.value;
      if (c.code === LOINC.weight) visits.get(key).parts.push(t("app.measure.weight", C.num(v)));
      else if ([LOINC.height, LOINC.length, LOINC.standing].includes(c.code)) visits.get(key).parts.push(t("app.measure.length", C.num(v)));
      else if (c.code === LOINC.muac) visits.get(key).parts.push(t("app.measure.muac", C.num(v)));
      else if (c.system === NUT && c.code === "oedema") visits.get(key).parts.push(t("app.measure.oedema", t("app.oedema." + ((r.valueCodeableConcept || {}).coding || [{}])[0].code)));
      else if (c.system === ANTHRO && v !== undefined) visits.get(key).parts.push(t("app.measure.z", C.tOr("app.z." + c.code, c.code), v));
    }
    const items = [...visits.values()].filter((v) => v.parts.length).sort((a, b) => (a.date < b.date ? 1 : -1));
    $("timeline").replaceChildren(...(items.length ? items.map((v) => el("li", { "data-country": v.cc },
      el("time", { datetime: v.date, text: v.date }), " · ", el("strong", { text: C.countryName(v.cc) }), el("div", { text: v.parts.join(", ") })))
      : [el("li", { text: t("app.no_history") })]));
  }
  function alerts(entries) {
    const box = $("rec-alerts");
    const flags = entries.map((e) => e.resource).filter((r) => r && r.resourceType === "Flag" && r.status === "active" && code(r).system === ALERT);
    const conds = entries.map((e) => e.resource).filter((r) => r && r.resourceType === "Condition" && code(r).system === NUT &&
      (((r.clinicalStatus || {}).coding || [{}])[0].code || "active") === "active");
    const kids = flags.map((f) => {
      const sev = ((f.category || [])[0] || { coding: [{}] }).coding.map((c) => c.code).find((x) => ["low", "medium", "high", "critical"].includes(x)) || "";
      return el("p", { class: "alert sev-" + sev, "data-kind": code(f).code }, "⚠ ", t("app.alert", t("alert." + code(f).code), sev ? t("severity." + sev) : ""));
    });
    for (const c of conds) kids.push(el("p", { class: "cond", "data-condition": code(c).code }, t("app.classification_is", C.tOr("cond." + code(c).code, code(c).display || code(c).code))));
    box.replaceChildren(...(kids.length ? kids : [el("p", { text: t("app.no_alerts") })]));
  }
  async function loadChart() {
    if (!current) return;
    document.querySelectorAll("#chart-tabs button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.ind === indicator)));
    try {
      const r = await api(`/countries/${current.cc}/fhir/Patient/${current.id}/$growth-chart?indicator=${indicator}`, { raw: true, headers: { Accept: "image/svg+xml, application/fhir+json;q=0.5" } });
      const blob = await r.blob();
      if (chartURL) URL.revokeObjectURL(chartURL);
      chartURL = URL.createObjectURL(blob);
      $("chart").src = chartURL;
      const title = document.querySelector(`#chart-tabs [data-ind="${indicator}"]`).textContent;
      $("chart").alt = t("app.chart_alt", title);
      $("chart").dataset.indicator = indicator;
    } catch (e) { say($("rec-msg"), C.errorText(e), "bad"); }
  }
  document.querySelectorAll("#chart-tabs button").forEach((b) => b.addEventListener("click", () => { indicator = b.dataset.ind; loadChart(); }));

  async function openRecord(cc, id, note) {
    current = { cc, id };
    show("record");
    say($("rec-msg"), note || t("app.loading"), note ? "ok" : "");
    $("v-date").value = $("v-date").value || today();
    const cacheKey = `contigo.rec.${cc}.${id}`;
    let bundle;
    try {
      bundle = await api(`/countries/${cc}/fhir/Patient/${id}/$everything?_federated=true`);
      try { localStorage.setItem(cacheKey, JSON.stringify(bundle)); } catch (e) { /* full: the record is read online */ }
    } catch (e) {
      const cached = localStorage.getItem(cacheKey);
      if (!cached) { say($("rec-msg"), C.errorText(e), "bad"); return; }
      bundle = JSON.parse(cached);
      say($("rec-msg"), t("app.offline"));
    }
    const entries = (bundle.entry || []).filter((e) => e.resource);
    const p = (entries.find((e) => e.resource.resourceType === "Patient" && e.resource.id === id) || entries[0] || { resource: {} }).resource;
    current.patient = p;
    $("rec-name").textContent = nameOf(p);
    $("rec-facts").textContent = [p.birthDate, gender(p), C.countryName(cc)].filter(Boolean).join(" · ");
    const oo = entries.filter((e) => e.resource.resourceType === "OperationOutcome");
    $("unanswered").textContent = unanswered(oo);
    alerts(entries.filter((e) => (tagOf(e.resource) || cc) === cc));
    timeline(entries);
    if (!note) say($("rec-msg"), "");
    loadChart();
  }
  $("back").addEventListener("click", () => { current = null; show("search"); });

  // ---- today's visit, as one idempotent transaction Bundle ----
  function quantity(ref, enc, date, loinc, display, value, unit) {
    return { fullUrl: "urn:uuid:" + uuid(), request: { method: "POST", url: "Observation" }, resource: {
      resourceType: "Observation", status: "final",
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "vital-signs" }] }],
      code: { coding: [{ system: "http://loinc.org", code: loinc, display }] }, subject: { reference: ref }, encounter: { reference: enc },
      effectiveDateTime: date, valueQuantity: { value, unit, system: "http://unitsofmeasure.org", code: unit } } };
  }
  function visitBundle(f) {
    const ref = "Patient/" + current.id;
    const encURL = "urn:uuid:" + uuid();
    const entry = [{ fullUrl: encURL, request: { method: "POST", url: "Encounter" }, resource: {
      resourceType: "Encounter", status: "finished", class: { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "AMB" },
      subject: { reference: ref }, period: { start: f.date } } }];
    if (f.weight) entry.push(quantity(ref, encURL, f.date, LOINC.weight, "Body weight", f.weight, "kg"));
    if (f.length) entry.push(quantity(ref, encURL, f.date, f.pos === "lying" ? LOINC.length : LOINC.standing, f.pos === "lying" ? "Body length" : "Body height", f.length, "cm"));
    if (f.muac) entry.push(quantity(ref, encURL, f.date, LOINC.muac, "MUAC", f.muac, "mm"));
    entry.push({ fullUrl: "urn:uuid:" + uuid(), request: { method: "POST", url: "Observation" }, resource: {
      resourceType: "Observation", status: "final", code: { coding: [{ system: NUT, code: "oedema" }] }, subject: { reference: ref },
      encounter: { reference: encURL }, effectiveDateTime: f.date, valueCodeableConcept: { coding: [{ system: NUT, code: f.oedema }] } } });
    return JSON.stringify({ resourceType: "Bundle", type: "transaction", entry });
  }
  $("visit").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const num = (id) => { const v = $(id).value; return v === "" ? 0 : Number(v); };
    const pos = document.querySelector('input[name="v-pos"]:checked');
    const f = { date: $("v-date").value || today(), weight: num("v-weight"), length: num("v-length"), pos: pos && pos.value, muac: num("v-muac"), oedema: $("v-oedema").value };
    if (!f.weight && !f.length && !f.muac && !["+", "++", "+++"].includes(f.oedema)) { say($("visit-msg"), t("app.visit_empty"), "bad"); return; }
    if (f.length && !f.pos) { say($("visit-msg"), t("app.position_needed"), "bad"); return; }
    if (!$("visit").checkValidity()) { $("visit").reportValidity(); return; }
    // The Bundle is made once: a retry uploads the same bytes, which the
    // server replays instead of storing the visit twice.
    const item = { key: uuid(), cc: current.cc, id: current.id, name: nameOf(current.patient || {}), created: Date.now(), bundle: visitBundle(f) };
    saveQueue([...queue(), item]);
    $("visit").reset();
    $("v-date").value = today();
    say($("visit-msg"), "");
    await flush();
    if (queue().some((x) => x.key === item.key && !x.error)) say($("visit-msg"), t("app.visit_queued"), "warn");
    else if (queue().some((x) => x.key === item.key)) say($("visit-msg"), t("app.queue_failed", queue().find((x) => x.key === item.key).error), "bad");
  });

  // ---- consent, referral, carné ----
  async function consent(provision) {
    const body = { resourceType: "Consent", status: "active",
      scope: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy" }] },
      category: [{ coding: [{ system: "http://loinc.org", code: "59284-0" }] }], patient: { reference: "Patient/" + current.id },
      dateTime: new Date().toISOString(), policyRule: { text: t("app.consent_policy") }, provision: { type: provision } };
    try {
      await api(`/countries/${current.cc}/fhir/Consent`, { method: "POST", body: JSON.stringify(body) });
      say($("rec-msg"), t("app.consent_saved"), "ok");
    } catch (e) { say($("rec-msg"), C.errorText(e), "bad"); }
  }
  $("consent-permit").addEventListener("click", () => consent("permit"));
  $("consent-deny").addEventListener("click", () => consent("deny"));
  $("refer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const cc = $("r-country").value;
    try {
      await api(`/countries/${current.cc}/fhir/Patient/${current.id}/$refer`, { method: "POST", body: JSON.stringify({ resourceType: "Parameters", parameter: [{ name: "country", valueCode: cc }, { name: "reason", valueString: $("r-reason").value }] }) });
      say($("rec-msg"), t("app.referred", C.countryName(cc)), "ok");
    } catch (e) { say($("rec-msg"), C.errorText(e), "bad"); }
  });
  $("carne").addEventListener("click", async () => {
    const w = window.open("", "_blank");
    try {
      const r = await api(`/countries/${current.cc}/fhir/Patient/${current.id}/$carne`, { raw: true, headers: { Accept: "text/html, application/fhir+json;q=0.5" } });
      const url = URL.createObjectURL(await r.blob());
      if (w) w.location = url; else location.href = url;
    } catch (e) { if (w) w.close(); say($("rec-msg"), C.errorText(e), "bad"); }
  });
  function fillCountries() {
    const codes = ["CO", "EC", "PE", "BR", "PA", "VE", "CL", "AR", "BO", "MX", "GT", "HN", "CR"].filter((c) => !C.countries().includes(c));
    $("r-country").replaceChildren(...codes.map((c) => el("option", { value: c, text: C.countryName(c) })));
  }

  // ---- start ----
  document.addEventListener("langchange", () => { renderNet(); renderQueue(); fillCountries(); if (current) openRecord(current.cc, current.id); else show(C.validToken() ? "search" : "signin"); });
  document.addEventListener("DOMContentLoaded", async () => {
    C.langSelect($("lang"));
    await C.loadLang(C.lang());
    $("lang").value = C.lang();
    renderNet();
    renderQueue();
    fillCountries();
    $("queue-retry").addEventListener("click", flush);
    show(C.validToken() ? "search" : "signin");
    // The first screen is usable: shown, translated, its handlers set (the
    // browser tests measure the time to here on a throttled network).
    if (performance.mark) performance.mark("contigo-first-screen");
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
    flush();
  });
})();
