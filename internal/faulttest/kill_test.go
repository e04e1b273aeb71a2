package faulttest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"github.com/sketchmatch/sketchmatch/internal/testenv"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKill9 kills `sketchmatch import` with SIGKILL in the middle of a bulk
// import of 40 photos, while the server runs a burst of searches, then kills
// the server with SIGKILL too. After a restart, and again after the import
// is rerun to completion, the installation must be consistent: the audit
// chain verifies, every reference row has its photo and thumbnail and every
// stored file belongs to a row, no temp files remain, exactly one reference
// per distinct image, and the server's index holds exactly the references
// of the database.
func TestKill9(t *testing.T) {
	photoDir, photos, sketchPaths := DevSet(t, 40)
	e := NewEnv(t)
	e.Vars["INFERENCE_QUEUE"] = "4"
	// A few references first, so searches have a gallery while the import
	// is killed.
	seedDir := t.TempDir()
	for _, p := range photos[:4] {
		testenv.CopyFile(t, p, filepath.Join(seedDir, filepath.Base(p)))
	}
	e.MustRun(t, "", "import", seedDir)
	e.AddUser(t, "officer1", "officer")
	var sketches [][]byte
	for _, p := range sketchPaths[:6] {
		sketches = append(sketches, ReadFile(t, p))
	}
	db := e.OpenDB(t)

	srv := e.Start(t)
	c := NewClient()
	Login(t, c, srv.URL, "officer1")
	b := startBurst(c, srv.URL, sketches, 3, 1, 400)

	// kill -9 the import once a few photos are in (bounded wait).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	imp := e.Command(ctx, "import", photoDir)
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	impDone := make(chan error, 1)
	go func() { impDone <- imp.Wait() }()
	killedAt := -1
	deadline := time.Now().Add(90 * time.Second)
poll:
	for time.Now().Before(deadline) {
		select {
		case err := <-impDone:
			t.Logf("the import finished before it could be killed (%v); the checks still apply", err)
			break poll
		default:
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM "references"`).Scan(&n); err == nil && n >= 4+3 {
			imp.Process.Signal(syscall.SIGKILL)
			killedAt = n
			<-impDone
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if killedAt < 0 && imp.ProcessState == nil {
		imp.Process.Kill()
		<-impDone
		t.Fatal("the import added no photo within 90s")
	}
	t.Logf("import killed with SIGKILL at %d references", killedAt)

	// kill -9 the server in the middle of the search burst.
	time.Sleep(700 * time.Millisecond)
	srv.Kill(t)
	outs := b.Stop(t)
	t.Logf("burst until SIGKILL: %s", summary(outs))
	for _, o := range outs {
		if o.Err == nil && o.Status != http.StatusOK && o.Status != http.StatusSeeOther && o.Status != http.StatusServiceUnavailable {
			t.Errorf("%s %s: status %d before the kill\n%s", o.Kind, o.Path, o.Status, tail(o.Body, 500))
		}
	}

	// What the crashes left behind, before the restart sweeps it.
	if files, temps := unowned(t, e, db); len(files)+len(temps) > 0 {
		t.Logf("the kills left %d stored files without a row and %d temp files (the restart must sweep them)", len(files), len(temps))
	}

	t.Run("AfterCrashRestart", func(t *testing.T) {
		srv2 := e.Start(t)
		srv2.WaitForLog(t, "orphan-file sweep done", time.Minute) // what the crashes left behind
		checkConsistent(t, e, db, nil)
		srv2.Signal(syscall.SIGTERM)
		if _, ok := srv2.Wait(10 * time.Second); !ok {
			t.Fatal("the restarted server did not stop within 10s of SIGTERM")
		}
	})

	t.Run("AfterImportRerun", func(t *testing.T) {
		out, code := e.Run(t, "", "import", photoDir)
		if code != 0 || !strings.Contains(out, "0 rejected") {
			t.Fatalf("rerunning the import: exit %d\n%s", code, tail(out, 3000))
		}
		srv3 := e.Start(t)
		srv3.WaitForLog(t, "orphan-file sweep done", time.Minute)
		refs := checkConsistent(t, e, db, photos)
		if got, want := len(refs), len(photos); got != want {
			t.Errorf("%d references after the rerun, want %d (one per distinct image)", got, want)
		}
		// The index equals the database: a search for every reference
		// returns exactly the references' ids.
		Login(t, c, srv3.URL, "officer1")
		if st, body, err := Get(c, srv3.URL, "/readyz"); err != nil || st != http.StatusOK {
			t.Fatalf("/readyz: %d %v %s", st, err, body)
		}
		res := MustSearch(t, c, srv3.URL, sketches[0], len(refs))
		var got []int64
		for _, cand := range res.Candidates {
			got = append(got, cand.ReferenceID)
		}
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		var want []int64
		for id := range refs {
			want = append(want, id)
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if !equalIDs(got, want) {
			t.Errorf("a search with k=%d returned references %v, want exactly the database's %v", len(refs), got, want)
		}
		if n := Count(t, db, `SELECT COUNT(*) FROM embeddings WHERE model_id = ?`, res.Model); n != len(refs) {
			t.Errorf("%d embeddings for %s, want one per reference (%d)", n, res.Model, len(refs))
		}
		e.CheckNoPanic(t, srv3)
	})
}

// checkConsistent checks the database against REFERENCE_FOLDER and the
// audit chain; with sources, also that each source image is exactly one
// reference. It returns the reference ids (and sha256s).
func checkConsistent(t *testing.T, e *Env, db *sql.DB, sources []string) map[int64]string {
	t.Helper()
	if out, code := e.Run(t, "", "audit", "verify"); code != 0 {
		t.Errorf("audit verify: exit %d\n%s", code, out)
	}
	rows, err := db.Query(`SELECT id, sha256, stored_path, thumb_path FROM "references"`)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[int64]string{}
	bySHA := map[string]int{}
	owned := map[string]bool{} // files a reference row points at
	for rows.Next() {
		var id int64
		var sha, photo, thumb string
		if err := rows.Scan(&id, &sha, &photo, &thumb); err != nil {
			t.Fatal(err)
		}
		refs[id] = sha
		bySHA[sha]++
		owned[photo], owned[thumb] = true, true
		b, err := os.ReadFile(filepath.Join(e.Refs, filepath.FromSlash(photo)))
		if err != nil {
			t.Errorf("reference %d: photo file: %v", id, err)
		} else if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != sha {
			t.Errorf("reference %d: photo file %s does not hash to the row's sha256 (torn write?)", id, photo)
		}
		if _, err := os.Stat(filepath.Join(e.Refs, filepath.FromSlash(thumb))); err != nil {
			t.Errorf("reference %d: thumbnail: %v", id, err)
		}
	}
	rows.Close()
	sketchRows, err := db.Query(`SELECT id, sketch_path FROM searches`)
	if err != nil {
		t.Fatal(err)
	}
	sketches := map[string]bool{}
	nSearches := 0
	for sketchRows.Next() {
		nSearches++
		var id int64
		var p string
		sketchRows.Scan(&id, &p)
		sketches[p] = true
		if _, err := os.Stat(filepath.Join(e.Refs, filepath.FromSlash(p))); err != nil {
			t.Errorf("search %d: sketch file: %v", id, err)
		}
	}
	sketchRows.Close()

	var orphanSketches, sketchTemps []string
	filepath.WalkDir(e.Refs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(e.Refs, p)
		rel = filepath.ToSlash(rel)
		inSketches := strings.HasPrefix(rel, "sketches/")
		switch {
		case rel == ".lock": // the folder's write/sweep lock (gallery.Files)
		case strings.HasPrefix(d.Name(), ".tmp-") && inSketches:
			sketchTemps = append(sketchTemps, rel)
		case strings.HasPrefix(d.Name(), ".tmp-"):
			t.Errorf("temp file %s left in REFERENCE_FOLDER after restart", rel)
		case inSketches:
			if !sketches[rel] {
				orphanSketches = append(orphanSketches, rel)
			}
		case !owned[rel]:
			t.Errorf("file %s belongs to no reference row", rel)
		}
		return nil
	})
	// A search killed between storing its sketch and committing its row
	// leaves the sketch file; the start-up sweep removes it.
	if len(orphanSketches) > 0 || len(sketchTemps) > 0 {
		t.Errorf("%d sketch files without a search row, %d sketch temp files left after restart: %v %v",
			len(orphanSketches), len(sketchTemps), orphanSketches, sketchTemps)
	}
	for sha, n := range bySHA {
		if n != 1 {
			t.Errorf("sha256 %s is %d references, want 1", sha, n)
		}
	}
	for _, src := range sources {
		sum := sha256.Sum256(ReadFile(t, src))
		if n := bySHA[hex.EncodeToString(sum[:])]; n != 1 {
			t.Errorf("source image %s is %d references, want exactly 1", filepath.Base(src), n)
		}
	}
	// Audit: every reference and every search is on the record.
	// The audit row commits in the same transaction as what it records.
	auditGap := t.Errorf
	if na, nr := Count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'reference_add'`), len(refs); na != nr {
		auditGap("audit gap: %d reference_add audit rows for %d references (a kill between the row's commit and its audit row loses the audit entry)", na, nr)
	}
	if na := Count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'search'`); na != nSearches {
		auditGap("audit gap: %d search audit rows for %d searches (a kill between the search's commit and its audit row loses the audit entry)", na, nSearches)
	}
	t.Logf("%d references, %d searches: consistent", len(refs), nSearches)
	return refs
}

func equalIDs(a, b []int64) bool {
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

// unowned lists photo/thumbnail files no reference row points at, and temp
// files, outside sketches/.
func unowned(t *testing.T, e *Env, db *sql.DB) (files, temps []string) {
	t.Helper()
	owned := map[string]bool{}
	rows, err := db.Query(`SELECT stored_path, thumb_path FROM "references"`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b string
		rows.Scan(&a, &b)
		owned[a], owned[b] = true, true
	}
	rows.Close()
	filepath.WalkDir(e.Refs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(e.Refs, p)
		rel = filepath.ToSlash(rel)
		switch {
		case strings.HasPrefix(rel, "sketches/"), rel == ".lock":
		case strings.HasPrefix(d.Name(), ".tmp-"):
			temps = append(temps, rel)
		case !owned[rel]:
			files = append(files, rel)
		}
		return nil
	})
	return files, temps
}
