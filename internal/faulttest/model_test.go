package faulttest

import (
	"encoding/json"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// TestModelMissingOrCorrupt starts the server with one file of the model
// preset deleted, then with one corrupted (same size, bytes changed). Each
// time: /readyz is 503 naming the file, the search page says search is
// unavailable and a search gets 503, while sign-in, the gallery (uploads
// stored for later embedding) and the history keep working; `sketchmatch
// check` exits non-zero naming the file.
func TestModelMissingOrCorrupt(t *testing.T) {
	t.Parallel()
	_, photos, sketchPaths := DevSet(t, 4)
	e := NewEnv(t)
	// A private copy of the preset that the test may damage.
	pristine := testenv.ModelDir(t)
	e.ModelsDir = t.TempDir()
	e.Vars["MODELS_DIR"] = e.ModelsDir
	model := filepath.Join(e.ModelsDir, filepath.Base(pristine))
	restore := func() {
		if err := os.RemoveAll(model); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(model, os.DirFS(pristine)); err != nil {
			t.Fatal(err)
		}
	}
	restore()

	// History made while the model was fine.
	seed := t.TempDir()
	for _, p := range photos[:3] {
		testenv.CopyFile(t, p, filepath.Join(seed, filepath.Base(p)))
	}
	e.MustRun(t, "", "import", seed)
	e.AddUser(t, "admin1", "admin")
	e.AddUser(t, "officer1", "officer")
	srv := e.Start(t)
	c := NewClient()
	Login(t, c, srv.URL, "officer1")
	searchID := MustSearch(t, c, srv.URL, ReadFile(t, sketchPaths[0]), 3).SearchID
	srv.Signal(syscall.SIGTERM)
	if _, ok := srv.Wait(10 * time.Second); !ok {
		t.Fatal("server did not stop")
	}

	for _, tc := range []struct {
		name, file string
		damage     func(p string) error
	}{
		{"MissingFile", "fr_feature.onnx", os.Remove},
		{"CorruptFile", "fr_landmark.onnx", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("this is not the model you are looking for"), 4096)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore()
			if err := os.Chmod(filepath.Join(model, tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(filepath.Join(model, tc.file)); err != nil {
				t.Fatal(err)
			}

			out, code := e.Run(t, "", "check")
			t.Logf("sketchmatch check (exit %d):\n%s", code, out)
			if code == 0 {
				t.Errorf("sketchmatch check exited 0 with %s damaged", tc.file)
			}
			if !strings.Contains(out, tc.file) {
				t.Errorf("sketchmatch check does not name %s", tc.file)
			}

			srv := e.Start(t)
			anon := NewClient()
			st, body, err := Get(anon, srv.URL, "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			var ready map[string]string
			json.Unmarshal([]byte(body), &ready)
			if st != http.StatusServiceUnavailable || ready["status"] != "unavailable" || ready["database"] != "ok" ||
				!strings.Contains(ready["model"], tc.file) {
				t.Errorf("/readyz: %d %s; want 503, database ok, model unavailable naming %s", st, body, tc.file)
			}
			if st, _, _ := Get(anon, srv.URL, "/healthz"); st != http.StatusOK {
				t.Errorf("/healthz: %d, want 200 (the process is alive)", st)
			}

			officer, admin := NewClient(), NewClient()
			Login(t, officer, srv.URL, "officer1")
			Login(t, admin, srv.URL, "admin1")
			st, body, _ = Get(officer, srv.URL, "/")
			if st != http.StatusOK || !strings.Contains(html.UnescapeString(body), "Search is unavailable") {
				t.Errorf("GET /: %d; want 200 explaining that search is unavailable\n%s", st, tail(body, 1500))
			}
			st, retry, sbody, err := SearchAPI(officer, srv.URL, ReadFile(t, sketchPaths[1]), 3)
			if err != nil || st != http.StatusServiceUnavailable || retry == "" || !strings.Contains(string(sbody), "unavailable") {
				t.Errorf("POST /api/v1/search: %d %v Retry-After %q %s; want a 503 saying search is unavailable", st, err, retry, sbody)
			}
			for _, p := range []string{"/searches", "/searches/" + strconv.FormatInt(searchID, 10)} {
				if st, body, err := Get(officer, srv.URL, p); err != nil || st != http.StatusOK {
					t.Errorf("GET %s: %d %v; history must work without a model\n%s", p, st, err, tail(body, 500))
				}
			}
			if st, body, err := Get(admin, srv.URL, "/references"); err != nil || st != http.StatusOK {
				t.Errorf("GET /references: %d %v\n%s", st, err, tail(body, 500))
			}
			// An upload is stored now and embedded once the model is back.
			if st, body := upload(t, admin, srv.URL+"/api/v1/references", photos[3]); st != http.StatusCreated {
				t.Errorf("POST /api/v1/references without a model: %d, want 201 (stored, embedded later)\n%s", st, body)
			}
			if st, body, err := Get(admin, srv.URL, "/admin/audit"); err != nil || st != http.StatusOK {
				t.Errorf("GET /admin/audit: %d %v\n%s", st, err, tail(body, 500))
			}
			srv.Signal(syscall.SIGTERM)
			if _, ok := srv.Wait(10 * time.Second); !ok {
				t.Fatal("server did not stop within 10s of SIGTERM")
			}
			e.CheckNoPanic(t, srv)
		})
	}
}
