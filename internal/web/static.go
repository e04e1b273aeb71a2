package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// staticFiles serves the embedded web/static assets under content-hashed
// names (app.3f2a9c1b.css) with a one-year immutable cache; templates link
// them through the "asset" function, so a changed file gets a new URL.
type staticFiles struct {
	byHashed map[string]staticFile // hashed name -> file
	hashed   map[string]string     // plain name -> hashed name
}

type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

func loadStatic(fsys fs.FS) (*staticFiles, error) {
	sf := &staticFiles{byHashed: map[string]staticFile{}, hashed: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])[:10]
		ext := path.Ext(p)
		name := strings.TrimSuffix(p, ext) + "." + h + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		sf.byHashed[name] = staticFile{body: body, ctype: ctype, etag: `"` + h + `"`}
		sf.hashed[p] = name
		return nil
	})
	return sf, err
}

// url returns the cache-busting URL of a static file; it panics at template
// execution for an unknown name, which the template tests catch.
func (sf *staticFiles) url(name string) (string, error) {
	h, ok := sf.hashed[name]
	if !ok {
		return "", fmt.Errorf("unknown static file %q", name)
	}
	return "/static/" + h, nil
}

func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	f, ok := sf.byHashed[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", f.etag)
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(f.body)
}
