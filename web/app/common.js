// Contigo web app: what the health worker's app and the sector lead's
// dashboard share: messages, the token, API calls. Every text shown comes
// from the message catalogues (/app/messages/{lang}.json).
"use strict";
const C = (() => {
  const LANGS = ["es", "pt", "en", "fr"];
  let msgs = {};
  let lang = localStorage.getItem("contigo.lang") || "";
  if (!LANGS.includes(lang)) {
    lang = (navigator.languages || [navigator.language || "es"]).map((l) => l.slice(0, 2)).find((l) => LANGS.includes(l)) || "es";
  }

  // sprintf for the Go verbs used in the catalogues: %s %v %d %.Nf %%.
  function format(s, args) {
    let i = 0;
    return s.replace(/%(%|s|v|d|\.(\d)f)/g, (m, v, prec) => {
      if (v === "%") return "%";
      const a = args[i++];
      if (prec !== undefined) return Number(a).toLocaleString(lang, { minimumFractionDigits: +prec, maximumFractionDigits: +prec });
      return String(a);
    });
  }
  function t(key, ...args) {
    const s = msgs[key];
    return s === undefined ? key : format(s, args);
  }
  function has(key) { return Object.prototype.hasOwnProperty.call(msgs, key); }
  // tOr returns the text of key, or fallback where the catalogue has no such
  // key (a code the server may send that the app does not name).
  function tOr(key, fallback) { return has(key) ? t(key) : fallback; }
  async function loadLang(l) {
    if (!LANGS.includes(l)) l = "es";
    const r = await fetch("/app/messages/" + l + ".json");
    msgs = await r.json();
    lang = l;
    localStorage.setItem("contigo.lang", l);
    document.documentElement.lang = l;
    applyI18n(document);
  }
  function applyI18n(root) {
    root.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
    root.querySelectorAll("[data-i18n-label]").forEach((e) => e.setAttribute("aria-label", t(e.dataset.i18nLabel)));
    root.querySelectorAll("[data-i18n-title]").forEach((e) => { document.title = t(e.dataset.i18nTitle); });
  }

  // The bearer token (a JWT from "contigo token") and its claims.
  function token() { return localStorage.getItem("contigo.token") || ""; }
  function claims() {
    try {
      const p = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(p))));
    } catch (e) { return null; }
  }
  function countries() { const c = claims(); return (c && (c.countries || c.cty)) || []; }
  function signIn(tok) { localStorage.setItem("contigo.token", tok.trim()); }
  // signOut forgets the token and the records read on this device; the
  // upload queue stays, so that no visit is lost.
  function signOut() {
    localStorage.removeItem("contigo.token");
    Object.keys(localStorage).filter((k) => k.startsWith("contigo.rec.")).forEach((k) => localStorage.removeItem(k));
  }
  function validToken() {
    const c = claims();
    return !!c && (!c.exp || c.exp * 1000 > Date.now());
  }

  // ApiError carries the status and the OperationOutcome's texts.
  class ApiError extends Error {
    constructor(status, text) { super(text); this.status = status; }
  }
  // api calls path with the token; it returns the parsed JSON (or text for
  // non-JSON answers, or the Response with raw) and throws ApiError for an
  // HTTP error, TypeError when the network is down.
  async function api(path, opts = {}) {
    const headers = Object.assign({ Authorization: "Bearer " + token(), "Accept-Language": lang, Accept: "application/fhir+json, application/json" }, opts.headers || {});
    if (opts.body && !headers["Content-Type"]) headers["Content-Type"] = "application/fhir+json";
    const r = await fetch(path, { method: opts.method || "GET", headers, body: opts.body });
    if (opts.raw && r.ok) return r;
    const ct = r.headers.get("Content-Type") || "";
    const body = ct.includes("json") ? await r.json() : await r.text();
    if (!r.ok) {
      let text = typeof body === "string" ? body : "";
      if (body && body.issue) text = body.issue.map((i) => (i.details && i.details.text) || i.diagnostics || i.code).join("; ");
      else if (body && body.message) text = body.message;
      throw new ApiError(r.status, text || String(r.status));
    }
    return body;
  }
  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  function say(node, text, kind) {
    node.textContent = text;
    node.className = "msg " + (kind || "");
  }
  function errorText(e) {
    return e instanceof ApiError ? t("app.error", e.message) : t("app.network_error");
  }
  function langSelect(sel) {
    sel.value = lang;
    sel.addEventListener("change", () => loadLang(sel.value).then(() => document.dispatchEvent(new Event("langchange"))));
  }
  function countryName(cc) { return tOr("country." + cc, cc); }
  // num writes a number the way the language does (a decimal comma in es, pt, fr).
  function num(v) { return Number(v).toLocaleString(lang, { maximumFractionDigits: 2 }); }
  return { LANGS, t, tOr, num, loadLang, applyI18n, token, claims, countries, signIn, signOut, validToken, api, ApiError, el, say, errorText, langSelect, countryName, lang: () => lang };
})();
