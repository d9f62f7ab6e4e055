// Package web holds the health worker's app (/app/) and the sector lead's
// dashboard (/app/lead/): static files embedded in the binary, using only
// the public API, with their texts from package i18n's catalogues
// (/app/messages/{lang}.json).
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/text/language"

	"contigo/i18n"
)

// The app's files.
//
//go:embed app
var files embed.FS

// Shell lists the files of the app shell that the service worker caches
// (paths under /app/), for tests and for measuring its size.
var Shell = []string{
	"", "app.css", "app.js", "common.js", "sw.js", "manifest.webmanifest", "icon.svg",
	"lead/", "lead/lead.js",
	"messages/es.json", "messages/pt.json", "messages/en.json", "messages/fr.json",
}

// ShellBudget is the most the app shell may weigh, compressed as the server
// sends it (issue 13: "the app shell <= 250 KB compressed"): the budget of
// the served shell and of a cold first screen on the wire, which the tests
// hold to it.
const ShellBudget = 250 << 10

// Handler serves the app under /app/: the embedded files, the message
// catalogues, and headers that keep it self-contained (no third-party
// origin may be loaded).
func Handler() http.Handler {
	sub, err := fs.Sub(files, "app")
	if err != nil {
		panic(err) // the embedded tree always has app/
	}
	static := http.StripPrefix("/app/", http.FileServerFS(sub))
	// The pages wait for their scripts and then for their catalogue: a
	// Link header has the browser fetch the catalogue the app will most
	// likely choose (the browser's languages, as Accept-Language says)
	// with the scripts, one round trip sooner (563 ms on 3G). The
	// catalogues (by file name, es.json) and these values are made here
	// once, not per request.
	preload := map[language.Tag]string{}
	catalogues := map[string][]byte{}
	for _, tag := range i18n.Languages {
		name := tag.String() + ".json"
		preload[tag] = "</app/messages/" + name + ">; rel=preload; as=fetch; crossorigin=anonymous"
		catalogues[name], _ = i18n.Catalogue(tag.String()) // i18n's init fails without it
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The service worker revalidates; a deploy changes the files.
		h.Set("Cache-Control", "no-cache")
		if name, ok := strings.CutPrefix(r.URL.Path, "/app/messages/"); ok {
			b, found := catalogues[name]
			if !found {
				http.NotFound(w, r)
				return
			}
			h.Set("Content-Type", "application/json; charset=utf-8")
			w.Write(b)
			return
		}
		if r.URL.Path == "/app/" || r.URL.Path == "/app/lead/" {
			h.Set("Link", preload[i18n.Match(r.Header.Get("Accept-Language"))])
			h.Add("Vary", "Accept-Language")
		}
		if r.URL.Path == "/app/sw.js" {
			h.Set("Service-Worker-Allowed", "/app/")
		}
		static.ServeHTTP(w, r)
	})
}
