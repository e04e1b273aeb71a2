package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// page is the data every template receives.
type page struct {
	Title     string
	User      *auth.User
	RequestID string
	Flash     string
	Error     string
	Model     string // active model id for the footer, or why there is none
	Nav       string // which navigation entry is current
	Data      any
}

// templates parses layout.html with each page template once at start.
func parseTemplates(fsys fs.FS, funcs template.FuncMap) (map[string]*template.Template, error) {
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		if n == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		out[strings.TrimSuffix(n, path.Ext(n))] = t
	}
	return out, nil
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) (string, error) { return s.static.url(name) },
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(s.cfg.DisplayTimezone).Format("2006-01-02 15:04:05 MST")
		},
		"unixtime": func(sec int64) string {
			if sec == 0 {
				return "—"
			}
			return time.Unix(sec, 0).In(s.cfg.DisplayTimezone).Format("2006-01-02 15:04:05 MST")
		},
		"score":      func(f float32) string { return fmt.Sprintf("%.3f", f) },
		"pct":        func(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) },
		"add":        func(a, b int) int { return a + b },
		"sub":        func(a, b int) int { return a - b },
		"bytes":      humanBytes,
		"hasPrefix":  strings.HasPrefix,
		"auditPairs": auditPairs,
		"list":       func(v ...string) []string { return v },
		"auditTone":  auditTone,
		// The upload limit, for forms to state it and check it first.
		"maxUpload":      func() string { return humanBytes(s.cfg.MaxUploadSize) },
		"maxUploadBytes": func() int64 { return s.cfg.MaxUploadSize },
		// similarity shows a score; below 0 it says so instead of a
		// negative number that reads like a measurement.
		"similarity": func(f float64) string {
			if f < 0 {
				return "< 0"
			}
			return fmt.Sprintf("%.3f", f)
		},
		// faceFlags explains a reference's face record (gallery.FaceFlags).
		"faceFlags":  gallery.FaceFlags,
		"searchable": gallery.Searchable,
		"count":      groupThousands,
	}
}

// groupThousands writes n with a space between groups of three digits
// ("3 120", "10 400"), as the results page counts references.
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// render executes a page template into a buffer first, so a template error
// becomes a clean 500 page instead of a half-written response.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.tmpl[name]
	if !ok {
		s.log.Error("unknown template", "name", name)
		s.renderError(w, r, http.StatusInternalServerError, "")
		return
	}
	p.RequestID = requestIDFrom(r.Context())
	if p.User == nil {
		p.User = userFrom(r.Context())
	}
	p.Model = s.modelStatus()
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		s.log.Error("template", "name", name, "err", err, "request_id", p.RequestID)
		if name != "error" {
			s.renderError(w, r, http.StatusInternalServerError, "")
		} else {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		}
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
