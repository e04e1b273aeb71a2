package gallery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Files is the content-addressed file store under REFERENCE_FOLDER:
//
//	photos:     ab/<sha256>.<ext>
//	thumbnails: thumbs/ab/<sha256>.jpg
//	sketches:   sketches/ab/<sha256>.<ext>
//
// Paths are built only from the SHA-256 and a fixed extension; a user's file
// name never reaches the filesystem. Writes go to a temp file, are fsynced
// and renamed, so a crash leaves either the whole file or none.
//
// With DB set (PostgreSQL), the same paths name rows of the database's
// blobs table instead, and the folder's flock becomes an advisory lock, so
// several instances share the store; Root is then unused.
type Files struct {
	Root string
	DB   BlobStore
}

// BlobStore is the database's blobs table, where Files keeps its files on
// PostgreSQL, and the advisory lock that stands in for the folder's flock.
// *store.DB implements it.
type BlobStore interface {
	PutBlob(ctx context.Context, path string, data []byte) error
	Blob(ctx context.Context, path string) (io.ReadSeekCloser, error)
	BlobExists(ctx context.Context, path string) (bool, error)
	DeleteBlob(ctx context.Context, path string) error
	EachBlob(ctx context.Context, fn func(domain.BlobInfo) error) error
	BlobsShared(ctx context.Context) (unlock func(), err error)
	BlobsExclusive(ctx context.Context) (unlock func(), err error)
}

var _ BlobStore = (*store.DB)(nil)

// blobTimeout bounds one blob read or write on PostgreSQL.
const blobTimeout = 30 * time.Second

func blobCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), blobTimeout)
}

var relPathRe = regexp.MustCompile(`^(?:(?:thumbs|sketches)/)?[0-9a-f]{2}/[0-9a-f]{64}\.(?:jpg|png|webp)$`)

// PhotoPath, ThumbPath and SketchPath are relative to Root.
func PhotoPath(sha, ext string) string { return filepath.ToSlash(filepath.Join(sha[:2], sha+ext)) }
func ThumbPath(sha string) string {
	return filepath.ToSlash(filepath.Join("thumbs", sha[:2], sha+".jpg"))
}
func SketchPath(sha, ext string) string {
	return filepath.ToSlash(filepath.Join("sketches", sha[:2], sha+ext))
}

// abs resolves a relative path after checking it has the only shape we write.
func (f *Files) abs(rel string) (string, error) {
	if !relPathRe.MatchString(rel) {
		return "", fmt.Errorf("refusing unexpected stored path %q", rel)
	}
	return filepath.Join(f.Root, filepath.FromSlash(rel)), nil
}

// Write stores data at rel atomically (temp file, fsync, rename, fsync dir).
// An existing file with the same name is left as is (same content by
// construction).
func (f *Files) Write(rel string, data []byte) error {
	dst, err := f.abs(rel)
	if err != nil {
		return err
	}
	if f.DB != nil {
		ctx, cancel := blobCtx()
		defer cancel()
		return f.DB.PutBlob(ctx, rel, data)
	}
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Remove deletes rel; a missing file is not an error.
func (f *Files) Remove(rel string) error {
	p, err := f.abs(rel)
	if err != nil {
		return err
	}
	if f.DB != nil {
		ctx, cancel := blobCtx()
		defer cancel()
		return f.DB.DeleteBlob(ctx, rel)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Open opens rel for reading.
func (f *Files) Open(rel string) (io.ReadSeekCloser, error) {
	p, err := f.abs(rel)
	if err != nil {
		return nil, err
	}
	if f.DB != nil {
		ctx, cancel := blobCtx()
		defer cancel()
		return f.DB.Blob(ctx, rel)
	}
	return os.Open(p)
}

// Exists reports whether rel is present.
func (f *Files) Exists(rel string) bool {
	p, err := f.abs(rel)
	if err != nil {
		return false
	}
	if f.DB != nil {
		ctx, cancel := blobCtx()
		defer cancel()
		ok, _ := f.DB.BlobExists(ctx, rel)
		return ok
	}
	_, err = os.Stat(p)
	return err == nil
}

// Shared takes the folder's lock in shared mode, for one write-then-commit
// (a file and the row that points at it). Any number of writers, in any
// process, hold it together; Reconcile's exclusive lock waits for them, so
// the orphan sweep never removes a file whose row is about to be committed.
func (f *Files) Shared() (unlock func(), err error) {
	if f.DB != nil {
		ctx, cancel := blobCtx()
		defer cancel()
		return f.DB.BlobsShared(ctx)
	}
	return f.lock(syscall.LOCK_SH)
}

// Exclusive takes the folder's lock in exclusive mode (the orphan sweep).
func (f *Files) Exclusive() (unlock func(), err error) {
	if f.DB != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		return f.DB.BlobsExclusive(ctx)
	}
	return f.lock(syscall.LOCK_EX)
}

func (f *Files) lock(how int) (func(), error) {
	if err := os.MkdirAll(f.Root, 0o750); err != nil {
		return nil, err
	}
	// Read-only is enough for flock, and lets a search whose sketch is
	// already stored proceed on a read-only folder.
	fd, err := os.OpenFile(filepath.Join(f.Root, ".lock"), os.O_CREATE|os.O_RDONLY, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(fd.Fd()), how); err != nil {
		fd.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(fd.Fd()), syscall.LOCK_UN)
		fd.Close()
	}, nil
}

// Walk calls fn with the relative path of every stored photo, thumbnail and
// sketch, and removes leftover temp files of interrupted writes. The caller
// holds the exclusive lock.
func (f *Files) Walk(fn func(rel string)) error {
	if f.DB != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var paths []string // collected first: fn may delete
		if err := f.DB.EachBlob(ctx, func(b domain.BlobInfo) error { paths = append(paths, b.Path); return nil }); err != nil {
			return err
		}
		for _, p := range paths {
			fn(p)
		}
		return nil
	}
	err := filepath.WalkDir(f.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(f.Root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			os.Remove(p)
			return nil
		}
		if relPathRe.MatchString(rel) {
			fn(rel)
		}
		return nil
	})
	return err
}
