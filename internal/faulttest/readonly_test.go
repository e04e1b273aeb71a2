package faulttest

import (
	"bytes"
	"encoding/json"
	"github.com/sketchmatch/sketchmatch/internal/testenv"
	"html"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestReadOnlyReferenceFolder makes REFERENCE_FOLDER refuse writes under a
// running server. An upload (form and API) must get a clear 503 and leave
// nothing behind (no row, no file); searches and pages keep working; once
// the folder is writable again the same upload succeeds.
func TestReadOnlyReferenceFolder(t *testing.T) {
	_, photos, sketchPaths := DevSet(t, 6)
	e := NewEnv(t)
	seed := t.TempDir()
	for _, p := range photos[:4] {
		testenv.CopyFile(t, p, filepath.Join(seed, filepath.Base(p)))
	}
	e.MustRun(t, "", "import", seed)
	e.AddUser(t, "admin1", "admin")
	e.AddUser(t, "officer1", "officer")
	srv := e.Start(t)
	admin, officer := NewClient(), NewClient()
	Login(t, admin, srv.URL, "admin1")
	Login(t, officer, srv.URL, "officer1")
	sketchA, sketchB := ReadFile(t, sketchPaths[0]), ReadFile(t, sketchPaths[1])
	MustSearch(t, officer, srv.URL, sketchA, 5)

	db := e.OpenDB(t)
	refsBefore := Count(t, db, `SELECT COUNT(*) FROM "references"`)
	filesBefore := listFiles(t, e.Refs)

	how := makeReadOnly(t, e.Refs)
	t.Logf("REFERENCE_FOLDER made read-only with %s", how)

	t.Run("FormUpload503", func(t *testing.T) {
		st, body := upload(t, admin, srv.URL+"/references", photos[4])
		if st != http.StatusServiceUnavailable {
			t.Fatalf("POST /references into a read-only folder: status %d, want 503\n%s", st, tail(body, 2000))
		}
		if !strings.Contains(html.UnescapeString(body), "Nothing was saved") {
			t.Errorf("the 503 page does not explain what happened (want the storage message)\n%s", tail(body, 2000))
		}
	})
	t.Run("APIUpload503", func(t *testing.T) {
		st, body := upload(t, admin, srv.URL+"/api/v1/references", photos[5])
		if st != http.StatusServiceUnavailable {
			t.Fatalf("POST /api/v1/references into a read-only folder: status %d, want 503\n%s", st, tail(body, 2000))
		}
		var out struct {
			Results []struct{ Outcome, Reason string } `json:"results"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Results) != 1 || out.Results[0].Outcome != "rejected" || out.Results[0].Reason == "" {
			t.Errorf("want one rejected result with a reason, got %v %s", err, body)
		}
	})
	t.Run("NothingHalfWritten", func(t *testing.T) {
		if n := Count(t, db, `SELECT COUNT(*) FROM "references"`); n != refsBefore {
			t.Errorf("%d references after the failed uploads, want %d", n, refsBefore)
		}
		if after := listFiles(t, e.Refs); !equalStrings(after, filesBefore) {
			t.Errorf("REFERENCE_FOLDER changed:\nbefore %v\nafter  %v", filesBefore, after)
		}
	})
	t.Run("SearchesKeepWorking", func(t *testing.T) {
		// A sketch searched before: its file is already stored, so nothing
		// needs writing in the folder.
		MustSearch(t, officer, srv.URL, sketchA, 5)
		for _, p := range []string{"/", "/searches", "/readyz"} {
			if st, body, err := Get(officer, srv.URL, p); err != nil || st != http.StatusOK {
				t.Errorf("GET %s: %d %v\n%s", p, st, err, tail(body, 500))
			}
		}
		// A new sketch must be kept with the search record (DESIGN §3), so
		// with nowhere to write it the search cannot be recorded: it must
		// fail cleanly (503 with a reason), never 500.
		st, retry, body, err := SearchAPI(officer, srv.URL, sketchB, 5)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("a new sketch with a read-only folder: %d (Retry-After %q) %s", st, retry, body)
		if st != http.StatusOK && st != http.StatusServiceUnavailable {
			t.Errorf("a search with a new sketch: status %d, want 200 or a clean 503", st)
		}
	})

	undoReadOnly(t)
	t.Run("WritableAgain", func(t *testing.T) {
		st, body := upload(t, admin, srv.URL+"/api/v1/references", photos[4])
		if st != http.StatusCreated {
			t.Fatalf("upload after the folder is writable again: %d, want 201\n%s", st, body)
		}
		checkConsistent(t, e, db, photos[:5])
	})
	e.CheckNoPanic(t, srv)
}

func upload(t *testing.T, c *http.Client, url, photo string) (int, string) {
	t.Helper()
	body, ct := Multipart(map[string]string{"label": "ro-test"},
		map[string][]NamedFile{"photos": {{Name: filepath.Base(photo), Data: ReadFile(t, photo)}}})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	st, text, err := Do(c, req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return st, text
}

// undoRO is the undo of the last makeReadOnly (also registered as cleanup).
var undoRO func()

func undoReadOnly(t *testing.T) {
	if undoRO != nil {
		undoRO()
		undoRO = nil
	}
}

// makeReadOnly makes dir and everything below it refuse writes, using what
// really stops the current user:
//   - not root: permission bits (chmod 0555 on every folder);
//   - root (permission bits do not stop root): a read-only bind mount of
//     the folder onto itself (mount --bind, then remount,ro,bind), so every
//     write fails with EROFS, like a disk remounted read-only after errors;
//   - root without mount rights (a container without CAP_SYS_ADMIN): the
//     immutable attribute (chattr +i) on every folder, which root cannot
//     write through either (EPERM).
//
// It checks that creating a file really fails, in the folder and in a
// subfolder, and skips the test when no method works.
func makeReadOnly(t *testing.T, dir string) string {
	t.Helper()
	var dirs []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	refused := func() bool {
		for _, d := range dirs {
			f, err := os.CreateTemp(d, ".ro-probe-*")
			if err == nil {
				f.Close()
				os.Remove(f.Name())
				return false
			}
		}
		return true
	}
	register := func(undo func()) {
		undoRO = undo
		t.Cleanup(func() { undoReadOnly(t) })
	}
	run := func(name string, args ...string) error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Logf("%s %s: %v %s", name, strings.Join(args, " "), err, out)
		}
		return err
	}

	if os.Geteuid() != 0 {
		for _, d := range dirs {
			os.Chmod(d, 0o555)
		}
		register(func() {
			for _, d := range dirs {
				os.Chmod(d, 0o750)
			}
		})
		if refused() {
			return "chmod 0555 on every folder (permission bits)"
		}
		undoReadOnly(t)
		t.Skip("skipping: chmod 0555 did not stop writes here")
	}
	if _, err := exec.LookPath("mount"); err == nil && run("mount", "--bind", dir, dir) == nil {
		register(func() { run("umount", dir) })
		if run("mount", "-o", "remount,ro,bind", dir) == nil && refused() {
			return "a read-only bind mount (mount --bind + remount,ro,bind): writes fail with EROFS"
		}
		undoReadOnly(t)
	}
	if _, err := exec.LookPath("chattr"); err == nil {
		var done []string
		register(func() {
			for _, d := range done {
				run("chattr", "-i", d)
			}
		})
		ok := true
		for _, d := range dirs {
			if run("chattr", "+i", d) != nil {
				ok = false
				break
			}
			done = append(done, d)
		}
		if ok && refused() {
			return "chattr +i on every folder (immutable even for root): writes fail with EPERM"
		}
		undoReadOnly(t)
	}
	t.Skip("skipping: running as root and neither a read-only bind mount nor chattr +i could make REFERENCE_FOLDER refuse writes here")
	return ""
}

// listFiles lists every file under dir (relative, sorted).
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
