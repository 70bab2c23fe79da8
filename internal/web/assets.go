package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page: the layout plus that page's "main".
// The templates are part of the binary, so a parse error is a build fault
// that any test of the package catches; it cannot come from input.
var pages = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, p := range []string{"fleet", "host", "signin", "error", "learn"} {
		m[p] = template.Must(template.New(p).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html"))
	}
	return m
}()

// assetTag changes whenever an embedded asset does; static URLs carry it so
// that browsers may cache assets for long and still get new ones after an
// upgrade.
var assetTag = func() string {
	h := sha256.New()
	fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// staticNames are the files under static/, by name.
var staticNames = func() map[string]bool {
	m := map[string]bool{}
	entries, _ := staticFS.ReadDir("static")
	for _, e := range entries {
		if !e.IsDir() {
			m[e.Name()] = true
		}
	}
	return m
}()

// staticHandler serves the embedded CSS, JavaScript and icon, without
// directory listings and without asking for authentication: they hold
// nothing about the fleet.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(PathStatic, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		name := strings.TrimPrefix(r.URL.Path, PathStatic)
		if !staticNames[name] { // only the embedded files, no listings, no odd paths
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
