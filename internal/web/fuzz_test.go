package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// FuzzSpoolUploads feeds arbitrary multipart bodies to the gallery upload
// parser: it must never panic, answer only with a 4xx application error or
// a bounded set of spooled files, and leave nothing on disk after Close.
func FuzzSpoolUploads(f *testing.F) {
	e := newEnvWith(f, map[string]string{"MAX_UPLOAD_SIZE": "256K"}, nil)
	for _, seed := range []string{
		"--b\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"label\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a\"\r\n\r\nxx\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"photos\"\r\n\r\nno filename\r\n--b--\r\n",
		"--b--\r\n",
		"",
	} {
		f.Add("b", []byte(seed))
	}
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/references", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		rec := httptest.NewRecorder()
		up, err := e.srv.spoolUploads(rec, req)
		if err != nil {
			if code := apperr.Code(err); code != apperr.EINVALID && code != apperr.ETOOLARGE {
				t.Fatalf("error %v (code %s), want a 4xx", err, code)
			}
			return
		}
		if len(up.files) == 0 || len(up.files) > maxUploadFiles || len(up.label) > maxFieldBytes || len(up.notes) > maxFieldBytes {
			t.Fatalf("%d files, label %d, notes %d bytes", len(up.files), len(up.label), len(up.notes))
		}
		for _, sf := range up.files {
			fi, err := os.Stat(sf.path)
			if err != nil || fi.Size() > e.cfg.MaxUploadSize {
				t.Fatalf("spooled %s: %v", sf.path, err)
			}
		}
		up.Close()
		if _, err := os.Stat(up.dir); !os.IsNotExist(err) {
			t.Fatalf("spool folder left behind: %v", err)
		}
	})
}

// FuzzLoginForm posts arbitrary sign-in bodies: the answer is a redirect
// (signed in) or a 4xx, never a 5xx or a panic, and the typed password
// never reaches the log.
func FuzzLoginForm(f *testing.F) {
	e := newEnvWith(f, map[string]string{"LOGIN_RATE_LIMIT": "100000"}, nil)
	h := e.srv.Handler()
	for _, seed := range []string{
		"username=alice&password=" + strings.ReplaceAll(testPassword, " ", "+"),
		"username=alice&password=wrong+password",
		"username=&password=",
		"username=%ff%fe&password=%00",
		"username=" + strings.Repeat("a", 70) + "&password=x",
		"password=only",
		"%%%",
	} {
		f.Add("application/x-www-form-urlencoded", []byte(seed))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || (rec.Code < 400 && rec.Code != http.StatusSeeOther) {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
