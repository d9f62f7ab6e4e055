// Contigo sector lead's dashboard: alerts (the filters of GET /alerts,
// status changes with reasons, CSV), indicators by month or admin area as a
// chart and a table, and the digit-heaping review. Only the public API.
"use strict";
(() => {
  const { t, el, api, say } = C;
  const $ = (id) => document.getElementById(id);
  const OPTIONS = {
    kind: ["new_severe_wasting", "nutritional_oedema", "new_moderate_wasting", "infant_at_risk", "plw_acute_malnutrition", "deterioration", "missed_follow_up", "implausible_measurement"].map((k) => [k, "alert." + k]),
    severity: ["critical", "high", "medium", "low"].map((k) => [k, "severity." + k]),
    status: ["open", "acknowledged", "referred", "admitted", "resolved", "closed"].map((k) => [k, "status." + k]),
    age_band: ["infant_u6m", "child_6_59m", "over_5", "plw"].map((k) => [k, "age_band." + k]),
    sex: [["female", "app.gender.female"], ["male", "app.gender.male"]],
  };
  const SETTABLE = ["open", "acknowledged", "referred", "admitted", "closed"];
  let next = "";

  function country() { return C.countries()[0] || "CO"; }
  function fillSelects() {
    for (const [name, opts] of Object.entries(OPTIONS)) {
      const s = $("f-" + name);
      const v = s.value;
      s.replaceChildren(el("option", { value: "", text: t("lead.any") }), ...opts.map(([val, key]) => el("option", { value: val, text: t(key) })));
      s.value = v;
    }
  }
  function query() {
    const q = new URLSearchParams({ country: country() });
    for (const e of $("filters").elements) if (e.name && e.value) q.set(e.name, e.value);
    return q;
  }
  function row(a) {
    const sel = el("select", { "aria-label": t("lead.new_status") }, ...SETTABLE.map((s) => el("option", { value: s, text: t("status." + s), selected: s === a.status })));
    const reason = el("input", { "aria-label": t("lead.reason"), placeholder: t("lead.reason") });
    const msg = el("span", { class: "msg", role: "status" });
    const save = el("button", { type: "button", text: t("lead.save"), onclick: async () => {
      try {
        const body = { status: sel.value };
        if (reason.value.trim()) body.reason = reason.value.trim();
        const upd = await api(`/alerts/${encodeURIComponent(a.id)}?country=${country()}`, { method: "PATCH", body: JSON.stringify(body), headers: { "Content-Type": "application/json", Accept: "application/json" } });
        tr.replaceWith(row(upd));
        say($("alerts-msg"), t("lead.changed", t("status." + upd.status)), "ok");
      } catch (e) { say(msg, C.errorText(e), "bad"); }
    } });
    const tr = el("tr", { "data-id": a.id, "data-status": a.status },
      el("td", { text: (a.created_at || "").slice(0, 10) }),
      el("td", { text: t("alert." + a.kind) }),
      el("td", { text: t("severity." + a.severity) }),
      el("td", { class: "status", text: t("status." + a.status) }),
      el("td", { text: a.admin_area || "" }),
      el("td", { text: a.site_id || "" }),
      el("td", { class: "n", text: a.age_months !== undefined ? Number(a.age_months).toLocaleString(C.lang()) : "" }),
      el("td", {}, sel, reason, save, msg));
    return tr;
  }
  async function loadAlerts(url) {
    try {
      const page = await api(url || "/alerts?" + query(), { headers: { Accept: "application/json" } });
      const body = $("alerts").tBodies[0];
      if (!url) body.replaceChildren();
      body.append(...page.alerts.map(row));
      next = page.next || "";
      $("more").hidden = !next;
      say($("alerts-msg"), t("lead.total", page.total));
    } catch (e) { say($("alerts-msg"), C.errorText(e), "bad"); }
  }
  async function download(path, name) {
    try {
      const r = await api(path, { raw: true, headers: { Accept: "text/csv" } });
      const a = el("a", { href: URL.createObjectURL(await r.blob()), download: name });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) { say($("alerts-msg"), C.errorText(e), "bad"); }
  }

  // Indicators: a bar chart (severe solid, moderate striped: readable in
  // black and white) and the table with the same numbers.
  function barChart(rows) {
    const NS = "http://www.w3.org/2000/svg";
    const mk = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
    const W = 640, H = 260, L = 40, B = 60, bw = Math.max(8, Math.min(40, (W - L - 10) / Math.max(1, rows.length) / 2.5));
    const max = Math.max(1, ...rows.map((r) => Math.max(r.children_severe_wasting || 0, r.children_moderate_wasting || 0)));
    const svg = mk("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("lead.chart_caption"), width: "100%" });
    const defs = mk("defs", {});
    const pat = mk("pattern", { id: "stripes", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    pat.append(mk("rect", { width: 6, height: 6, fill: "#fff" }), mk("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#000", "stroke-width": 3 }));
    defs.append(pat);
    svg.append(defs, mk("line", { x1: L, y1: H - B, x2: W, y2: H - B, stroke: "#000" }), mk("line", { x1: L, y1: 10, x2: L, y2: H - B, stroke: "#000" }));
    const ytxt = mk("text", { x: L - 6, y: 16, "text-anchor": "end", "font-size": 11 }); ytxt.textContent = String(max); svg.append(ytxt);
    rows.forEach((r, i) => {
      const x = L + 10 + i * bw * 2.5;
      const h = (v) => ((v || 0) / max) * (H - B - 12);
      svg.append(mk("rect", { x, y: H - B - h(r.children_severe_wasting), width: bw, height: h(r.children_severe_wasting), fill: "#000" }));
      svg.append(mk("rect", { x: x + bw, y: H - B - h(r.children_moderate_wasting), width: bw, height: h(r.children_moderate_wasting), fill: "url(#stripes)", stroke: "#000" }));
      const lab = mk("text", { x: x + bw, y: H - B + 14, "text-anchor": "end", "font-size": 11, transform: `rotate(-35 ${x + bw} ${H - B + 14})` });
      lab.textContent = r.group;
      svg.append(lab);
    });
    return svg;
  }
  function indQuery() {
    return new URLSearchParams({ country: country(), from: $("i-from").value, to: $("i-to").value, by: $("i-by").value });
  }
  async function loadIndicators() {
    try {
      const res = await api("/indicators?" + indQuery(), { headers: { Accept: "application/json" } });
      const rows = res.rows || [];
      const n = (v) => el("td", { class: "n", text: Number(v || 0).toLocaleString(C.lang()) });
      $("ind-table").tBodies[0].replaceChildren(...rows.map((r) => el("tr", {}, el("th", { scope: "row", text: r.group }),
        n(r.children_6_59m_screened), n(r.children_severe_wasting), n(r.children_moderate_wasting), n(r.children_nutritional_oedema))));
      $("ind-chart").hidden = rows.length === 0;
      $("ind-svg").replaceChildren(barChart(rows));
      say($("ind-msg"), rows.length ? "" : t("lead.none"));
    } catch (e) { say($("ind-msg"), C.errorText(e), "bad"); }
  }
  async function loadHeaping() {
    try {
      const q = new URLSearchParams({ country: country(), from: $("i-from").value, to: $("i-to").value });
      const res = await api("/data-quality/heaping?" + q, { headers: { Accept: "application/json" } });
      const ws = res.warnings || [];
      $("heap").tBodies[0].replaceChildren(...ws.map((w) => el("tr", {}, el("td", { text: w.site }), el("td", { text: w.measurer }), el("td", { text: C.tOr("lead.var." + w.variable, w.variable) }),
        el("td", { class: "n", text: w.records }), el("td", { class: "n", text: w.heaped }), el("td", { class: "n", text: (w.share * 100).toLocaleString(C.lang(), { maximumFractionDigits: 1 }) + " %" }))));
      say($("heap-msg"), ws.length ? "" : t("lead.no_heaping"));
    } catch (e) { say($("heap-msg"), C.errorText(e), "bad"); }
  }

  function show(signedIn) {
    $("signin").hidden = signedIn;
    $("dash").hidden = !signedIn;
    $("signout").hidden = !signedIn;
    const c = C.claims();
    $("who").textContent = signedIn && c ? t("app.signed_in", c.sub || "", c.role || "", (c.countries || []).join(",")) : "";
    if (signedIn) { loadAlerts(); loadIndicators(); loadHeaping(); }
  }
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    C.signIn($("token").value);
    if (!C.validToken()) { C.signOut(); say($("signin-msg"), t("app.token_bad"), "bad"); return; }
    $("token").value = "";
    show(true);
  });
  $("signout").addEventListener("click", () => { C.signOut(); show(false); });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadAlerts(); });
  $("more").addEventListener("click", () => loadAlerts(next));
  $("csv").addEventListener("click", () => { const q = query(); q.set("format", "csv"); download("/alerts?" + q, `alerts-${country()}.csv`); });
  $("ind-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadIndicators(); loadHeaping(); });
  $("ind-csv").addEventListener("click", () => { const q = indQuery(); q.set("format", "csv"); download("/indicators?" + q, `indicators-${country()}.csv`); });
  $("heap-load").addEventListener("click", loadHeaping);
  document.addEventListener("langchange", () => { fillSelects(); show(C.validToken()); });
  document.addEventListener("DOMContentLoaded", async () => {
    C.langSelect($("lang"));
    await C.loadLang(C.lang());
    $("lang").value = C.lang();
    fillSelects();
    const now = new Date();
    const y = now.getUTCFullYear(), m = now.getUTCMonth();
    $("i-from").value = new Date(Date.UTC(y, m - 5, 1)).toISOString().slice(0, 10);
    $("i-to").value = new Date(Date.UTC(y, m + 1, 1)).toISOString().slice(0, 10);
    show(C.validToken());
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
  });
})();
