package gallery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Outcome of adding one file.
const (
	Added     = "added"
	Duplicate = "duplicate"
	Rejected  = "rejected"
)

// Upload is one file offered to the gallery.
type Upload struct {
	Name  string // the user's file name: data only, never a path
	Data  []byte
	Label string
	Notes string
	Meta  *domain.Metadata // witness metadata stored with the reference; nil: none
	// The person the photo is of: SubjectID adds it to an existing subject;
	// else Subject names one (a record number), found by exact name or
	// created; with neither the photo gets a subject of its own, named
	// after its label.
	SubjectID int64
	Subject   string
	// CapturedOn is the photo's capture date (YYYY-MM-DD), "" if unknown.
	CapturedOn string
}

// Result is what happened to one Upload.
type Result struct {
	Name      string
	Outcome   string
	Reason    string // for Rejected: why, safe to show
	Reference *domain.Reference
	FaceFound bool
	// Searchable: embedded with a face, so in the index. An added photo
	// without a face is stored but not searchable (Flags say why).
	Searchable bool
	Flags      []FaceFlag
	Err        error // the underlying error of a rejection
}

const (
	maxLabel = 200
	maxNotes = 2000
	thumbMax = 256
)

// cleanText validates a free-text field: valid UTF-8, no control characters
// other than newlines/tabs in notes, bounded length.
func cleanText(field, v string, max int, multiline bool) (string, error) {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) {
		return "", apperr.Errorf(apperr.EINVALID, "%s is not valid text.", field)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", apperr.Errorf(apperr.EINVALID, "%s is too long (%d characters, at most %d).", field, n, max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			if multiline && (r == '\n' || r == '\r' || r == '\t') {
				continue
			}
			return "", apperr.Errorf(apperr.EINVALID, "%s contains control characters.", field)
		}
	}
	return v, nil
}

// cleanDate validates a capture date: "" or YYYY-MM-DD.
func cleanDate(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if _, err := time.Parse("2006-01-02", v); err != nil {
		return "", apperr.Errorf(apperr.EINVALID, "The capture date %q is not a date written YYYY-MM-DD.", clipText(v, 40))
	}
	return v, nil
}

// prepared is a validated, decoded upload ready to embed and store.
type prepared struct {
	up   Upload
	sha  string
	info imagefile.Info
	img  image.Image
}

func (s *Service) prepare(u Upload) (*prepared, error) {
	var err error
	if u.Label, err = cleanText("The label", u.Label, maxLabel, false); err != nil {
		return nil, err
	}
	if u.Notes, err = cleanText("The notes", u.Notes, maxNotes, true); err != nil {
		return nil, err
	}
	if u.Subject, err = CleanSubjectName(u.Subject); err != nil {
		return nil, err
	}
	if u.CapturedOn, err = cleanDate(u.CapturedOn); err != nil {
		return nil, err
	}
	if u.Meta != nil {
		m, err := checkMetadata(*u.Meta)
		if err != nil {
			return nil, err
		}
		u.Meta = &m
	}
	// Keep only the base name, as data; never used as a path.
	u.Name = filepath.Base(strings.ReplaceAll(u.Name, `\`, "/"))
	if n, err := cleanText("The file name", u.Name, 255, false); err == nil {
		u.Name = n
	} else {
		u.Name = "(unprintable name)"
	}
	img, info, err := imagefile.Decode(u.Data, s.limits)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(u.Data)
	return &prepared{up: u, sha: hex.EncodeToString(sum[:]), info: info, img: img}, nil
}

// Add validates, stores and indexes a batch of uploads (web form, API and
// CLI import share this). Files are embedded together where the model
// allows. Each upload gets its own Result; one bad file does not stop the rest.
func (s *Service) Add(ctx context.Context, who Actor, ups []Upload) []Result {
	results := make([]Result, len(ups))
	var todo []int
	var preps []*prepared
	seen := map[string]int{}
	for i, u := range ups {
		results[i].Name = u.Name
		p, err := s.prepare(u)
		if err != nil {
			results[i].reject(err)
			continue
		}
		results[i].Name = p.up.Name
		if j, ok := seen[p.sha]; ok {
			results[i].Outcome, results[i].Reason = Duplicate, fmt.Sprintf("same image as %s in this upload", results[j].Name)
			continue
		}
		if ref, err := s.db.ReferenceBySHA(ctx, p.sha); err == nil {
			results[i].Outcome, results[i].Reference = Duplicate, ref
			results[i].Reason = fmt.Sprintf("already in the gallery as reference #%d", ref.ID)
			continue
		} else if !domain.IsNotFound(err) {
			results[i].reject(err)
			continue
		}
		seen[p.sha] = i
		todo = append(todo, i)
		preps = append(preps, p)
	}
	if len(preps) == 0 {
		return results
	}
	var embs []*embed.Embedding
	var embErr error
	if s.enc != nil {
		imgs := make([]image.Image, len(preps))
		for i, p := range preps {
			imgs[i] = p.img
		}
		embs, embErr = s.enc.EmbedBatch(ctx, imgs)
		if embErr != nil {
			// A busy or failed encoder does not lose the upload: the
			// reference is stored and embedded by the background reindex.
			s.log.Warn("embedding on ingest failed; references will be embedded by reindex", "err", embErr)
			embs = nil
		}
	}
	for n, i := range todo {
		var e *embed.Embedding
		if embs != nil {
			e = embs[n]
		}
		results[i] = s.store(ctx, who, preps[n], e)
	}
	return results
}

func (r *Result) reject(err error) {
	r.Outcome, r.Err = Rejected, err
	switch apperr.Code(err) {
	case apperr.EINTERNAL:
		r.Reason = "internal error (logged)"
	case apperr.EUNAVAILABLE:
		r.Reason = apperr.Message(err)
	default:
		r.Reason = apperr.Message(err)
	}
}

// store writes the files (photo, thumbnail), then commits the row with its
// embedding in one transaction, then updates the live index. A failure
// before the commit removes the files again; the start-up sweep (Reconcile)
// removes files a crash left without a row.
func (s *Service) store(ctx context.Context, who Actor, p *prepared, e *embed.Embedding) Result {
	res := Result{Name: p.up.Name}
	thumb, err := imagefile.Thumbnail(p.img, thumbMax)
	if err != nil {
		res.reject(err)
		return res
	}
	ref := &domain.Reference{
		SHA256: p.sha, Label: p.up.Label, Notes: p.up.Notes, OriginalName: p.up.Name,
		ContentType: p.info.ContentType, SizeBytes: int64(len(p.up.Data)), Width: p.info.Width, Height: p.info.Height,
		StoredPath: PhotoPath(p.sha, p.info.Ext), ThumbPath: ThumbPath(p.sha), CreatedBy: who.Username,
		SubjectID: p.up.SubjectID, SubjectName: p.up.Subject, CapturedOn: p.up.CapturedOn,
	}
	if ref.SubjectID == 0 && p.up.Subject != "" {
		// Resolved here, photo by photo, so that the second photo of a
		// new person in one import finds the subject the first created.
		if ref.SubjectID, err = s.ResolveSubject(ctx, p.up.Subject); err != nil {
			res.reject(err)
			return res
		}
	}
	unlock, err := s.files.Shared()
	if err != nil {
		res.reject(storageError(err))
		return res
	}
	defer unlock()
	if err := s.files.Write(ref.StoredPath, p.up.Data); err != nil {
		res.reject(storageError(err))
		return res
	}
	if err := s.files.Write(ref.ThumbPath, thumb); err != nil {
		s.files.Remove(ref.StoredPath)
		res.reject(storageError(err))
		return res
	}
	var ne *domain.NewEmbedding
	if e != nil {
		ne = s.newEmbedding(e)
		res.FaceFound, res.Searchable, res.Flags = e.FaceFound, e.FaceFound, FaceFlags(ne.Face)
		ref.Face, ref.HasEmbedding = ne.Face, true
	}
	auditAdd := func(tx *store.Tx) error {
		details := fmt.Sprintf("sha256=%s name=%q label=%q subject=%d", ref.SHA256, ref.OriginalName, ref.Label, ref.SubjectID)
		if e != nil {
			details += " " + faceAuditDetails(ne.Face)
		}
		if p.up.Meta != nil {
			if err := s.db.PutMetadataTx(ctx, tx, ref.ID, *p.up.Meta); err != nil {
				return err
			}
			details += " " + DescribeMetadata(*p.up.Meta)
		}
		return s.audit.RecordTx(ctx, tx, audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionReferenceAdd,
			Target: fmt.Sprintf("reference:%d", ref.ID), Outcome: audit.OutcomeSuccess, Details: details})
	}
	if err := s.db.InsertReference(ctx, ref, ne, auditAdd); err != nil {
		s.files.Remove(ref.StoredPath)
		s.files.Remove(ref.ThumbPath)
		if domain.IsNotFound(err) || errors.Is(err, domain.ErrSubjectMerged) {
			res.reject(subjectError(err, fmt.Sprintf("Person #%d", ref.SubjectID)))
			return res
		}
		if existing, err2 := s.db.ReferenceBySHA(ctx, p.sha); err2 == nil {
			// Lost a race with a concurrent upload of the same bytes.
			res.Outcome, res.Reference = Duplicate, existing
			res.Reason = fmt.Sprintf("already in the gallery as reference #%d", existing.ID)
			return res
		}
		res.reject(storageError(err))
		return res
	}
	// The subject first: a search that finds the new photo must know whose it is.
	s.subjects.set(ref.ID, ref.SubjectID)
	if p.up.Meta != nil {
		s.setSubjectMeta(ctx, ref.SubjectID, ref.ID, *p.up.Meta)
		s.ownMetadataWrite(ctx)
	} else if p.up.SubjectID != 0 || p.up.Subject != "" {
		// A photo added to a known person has that person's metadata.
		s.refreshMeta(ctx, []int64{ref.ID})
	}
	if ne != nil && ne.FaceFound {
		s.indexAdd(ref.ID, ne.Vector, ne.HOG, ne.HOGWide)
	}
	s.invalidateCounts()
	res.Outcome, res.Reference = Added, ref
	s.log.Info("reference added", "user", who.Username, "reference", ref.ID, "sha256", ref.SHA256, "embedded", ne != nil, "searchable", res.Searchable)
	return res
}

// storageError turns a filesystem or database failure into a 503 when the
// cause is a full or read-only disk (the operator must act; nothing was
// kept), else an internal error.
func storageError(err error) error {
	if storageUnavailable(err) {
		return apperr.Wrap(apperr.EUNAVAILABLE, err, "The reference could not be stored: the server's storage is full, read-only or busy. Nothing was saved; please tell an administrator.")
	}
	return apperr.Wrap(apperr.EINTERNAL, err, "storing the reference failed")
}

// searchStorageError is storageError for recording a search.
func searchStorageError(err error) error {
	if storageUnavailable(err) {
		return apperr.Wrap(apperr.EUNAVAILABLE, err, "The search could not be recorded: the server's storage is full, read-only or busy. Searches are only shown once they are on the record; please try again later or tell an administrator.")
	}
	return apperr.Wrap(apperr.EINTERNAL, err, "recording the search failed")
}

func storageUnavailable(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) ||
		domain.IsUnavailable(err)
}

// indexAdd puts a reference into the live index from its raw (uncentred)
// vector and stored HOG descriptors (used only by a fused-search index).
func (s *Service) indexAdd(id int64, raw []float32, tight, wide []byte) {
	idx, cal := s.snapshot()
	if idx == nil {
		return
	}
	if err := idx.Add(id, indexVector(cal, raw, tight, wide)); err != nil {
		s.log.Error("index add", "reference", id, "err", err)
	}
}

// Update changes a reference's label and notes.
func (s *Service) Update(ctx context.Context, who Actor, id int64, label, notes string) error {
	var err error
	if label, err = cleanText("The label", label, maxLabel, false); err != nil {
		return err
	}
	if notes, err = cleanText("The notes", notes, maxNotes, true); err != nil {
		return err
	}
	var renamed int64
	follow, err := s.labelFollower(ctx, who, id, label, &renamed)
	if err != nil {
		return err
	}
	err = s.db.UpdateReference(ctx, id, label, notes, func(tx *store.Tx) error {
		if err := s.audit.RecordTx(ctx, tx, audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionReferenceUpdate,
			Target: fmt.Sprintf("reference:%d", id), Outcome: audit.OutcomeSuccess, Details: fmt.Sprintf("label=%q", label)}); err != nil {
			return err
		}
		return follow(tx)
	})
	if err != nil {
		if domain.IsNotFound(err) {
			return apperr.Errorf(apperr.ENOTFOUND, "Reference #%d does not exist.", id)
		}
		return storageError(err)
	}
	s.logRenamed(who, id, renamed)
	return nil
}

// Delete removes the row and its embeddings (one statement, cascaded), the
// index entry, then the files. The index is updated first so a search never
// returns a reference whose row is gone.
func (s *Service) Delete(ctx context.Context, who Actor, id int64) error {
	ref, err := s.db.ReferenceByID(ctx, id)
	if err != nil {
		if domain.IsNotFound(err) {
			return apperr.Errorf(apperr.ENOTFOUND, "Reference #%d does not exist.", id)
		}
		return err
	}
	entry, err := s.audit.Entry(audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionReferenceDelete,
		Target: fmt.Sprintf("reference:%d", id), Outcome: audit.OutcomeSuccess, Details: fmt.Sprintf("sha256=%s label=%q", ref.SHA256, ref.Label)})
	if err != nil {
		return err
	}
	if idx, _ := s.snapshot(); idx != nil {
		idx.Remove(id)
	}
	s.hogs.drop(id)
	if err := s.db.DeleteReference(ctx, id, entry); err != nil {
		// Put it back: the row is still there.
		if e := s.reloadOne(ctx, id); e != nil {
			s.log.Error("restoring index entry", "reference", id, "err", e)
		}
		return storageError(err)
	}
	s.invalidateCounts()
	s.meta.drop(id)
	s.subjects.drop(id)
	for _, p := range []string{ref.StoredPath, ref.ThumbPath} {
		if err := s.files.Remove(p); err != nil {
			s.log.Error("removing file of deleted reference (the start-up sweep will retry)", "reference", id, "path", p, "err", err)
		}
	}
	s.log.Info("reference deleted", "user", who.Username, "reference", id)
	return nil
}

// reloadOne re-adds one reference's stored embedding to the index.
func (s *Service) reloadOne(ctx context.Context, id int64) error {
	if s.enc == nil {
		return nil
	}
	vec, err := s.db.SearchableVector(ctx, id, s.enc.ModelID())
	if domain.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var tight, wide []byte
	if _, cal := s.snapshot(); cal.fused() != nil {
		if tight, wide, err = s.db.Descriptors(ctx, id, s.enc.ModelID()); err != nil && !domain.IsNotFound(err) {
			return err
		}
	}
	s.indexAdd(id, vec, tight, wide)
	return nil
}

// Sweep is serve's start-up Reconcile, run in the background once the
// index is loaded: it lists every stored file and every row (1.1 s for a
// 100k gallery on PostgreSQL, minutes for millions of files on disk), and
// nothing a search needs waits for it. Uploads wait for its lock.
func (s *Service) Sweep(ctx context.Context) {
	start := time.Now()
	if err := s.Reconcile(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("orphan-file sweep failed (it runs again at the next start)", "err", err)
		}
		return
	}
	s.log.Info("orphan-file sweep done", "ms", time.Since(start).Milliseconds())
}

// Reconcile removes files that no row points at (left by a crash between
// the file write and the commit: photos, thumbnails, search sketches) and
// logs rows whose file is missing. It holds the folder's exclusive lock, so
// writes in flight (in this or another process) finish first.
func (s *Service) Reconcile(ctx context.Context) error {
	unlock, err := s.files.Exclusive()
	if err != nil {
		// A read-only or full disk: nothing could be removed anyway, and
		// the server must still start and serve searches.
		s.log.Warn("skipping the orphan-file sweep: cannot lock the reference folder", "folder", s.files.Root, "err", err)
		return nil
	}
	defer unlock()
	known, err := s.db.StoredPaths(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	sketches, err := s.db.SketchPaths(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	for p := range sketches {
		known[p] = 0
	}
	orphans := 0
	// present is what the walk saw and kept: the missing-file check below
	// reads it rather than asking the store about every path (on
	// PostgreSQL that was one query per photo and thumbnail, 200k queries
	// under the exclusive lock at start-up for a 100k gallery).
	present := make(map[string]bool, len(known))
	err = s.files.Walk(func(rel string) {
		if _, ok := known[rel]; !ok {
			if err := s.files.Remove(rel); err == nil {
				orphans++
			}
			return
		}
		present[rel] = true
	})
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	missing := 0
	for rel, id := range known {
		if id == 0 {
			continue // search sketches: a missing one only affects that record's page
		}
		if !present[rel] {
			missing++
			s.log.Error("reference file missing", "reference", id, "path", rel)
		}
	}
	if orphans > 0 || missing > 0 {
		s.log.Warn("reconciled reference folder", "orphan_files_removed", orphans, "missing_files", missing)
	}
	return nil
}
