// Package webfs embeds the HTML templates and static assets, so the binary
// is self-contained. Parsed once at start by internal/web.
package webfs

import (
	"embed"
	"io/fs"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static
var static embed.FS

// Templates holds web/templates/*.html.
func Templates() fs.FS {
	sub, _ := fs.Sub(templates, "templates")
	return sub
}

// Static holds web/static/**.
func Static() fs.FS {
	sub, _ := fs.Sub(static, "static")
	return sub
}
