package web

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// maxUploadFiles bounds the files of one gallery upload (the CLI's import
// is for more), maxFieldBytes each text field of it.
const (
	maxUploadFiles = 500
	maxFieldBytes  = 64 << 10
	maxUploadParts = maxUploadFiles + 16
)

// spooledUpload is a gallery upload read from a multipart body: the files
// are on disk (in dir), the text fields in memory.
type spooledUpload struct {
	dir          string
	files        []spooledFile
	label, notes string
	// labelFromName labels each file with its name without the extension.
	labelFromName bool
	// subject (a name or record number, found or created) or subjectID
	// (an existing person) puts every file with that person.
	subject   string
	subjectID int64
}

type spooledFile struct {
	name string // the client's file name, data only
	path string // our own name in dir
}

func (u *spooledUpload) Close() {
	if u.dir != "" {
		os.RemoveAll(u.dir)
	}
}

// spoolUploads streams the multipart body part by part (never the whole
// form in memory) and writes every "photos" file to its own temporary file,
// so that the files can then be decoded and stored one at a time: the
// memory of an upload is that of its largest file, whatever the count.
// The body is capped at MAX_UPLOAD_SIZE plus room for the framing.
func (s *Server) spoolUploads(w http.ResponseWriter, r *http.Request) (*spooledUpload, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadSize+64<<10)
	tooLarge := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apperr.Errorf(apperr.ETOOLARGE, "The upload is larger than the %s limit.", humanBytes(s.cfg.MaxUploadSize))
		}
		return nil
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "multipart/form-data" {
		return nil, apperr.Errorf(apperr.EINVALID, "The upload could not be read as a form with files.")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.Errorf(apperr.EINVALID, "The upload could not be read as a form with files.")
	}
	dir, err := os.MkdirTemp("", "sketchmatch-upload-")
	if err != nil {
		return nil, err
	}
	u := &spooledUpload{dir: dir}
	fail := func(err error) (*spooledUpload, error) {
		u.Close()
		return nil, err
	}
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if e := tooLarge(err); e != nil {
				return fail(e)
			}
			return fail(apperr.Errorf(apperr.EINVALID, "The upload could not be read as a form with files."))
		}
		if parts >= maxUploadParts {
			return fail(apperr.Errorf(apperr.EINVALID, "At most %d files per upload; use `sketchmatch import` for bulk imports.", maxUploadFiles))
		}
		switch name := p.FormName(); {
		case name == "photos" && p.FileName() != "":
			if len(u.files) >= maxUploadFiles {
				return fail(apperr.Errorf(apperr.EINVALID, "At most %d files per upload; use `sketchmatch import` for bulk imports.", maxUploadFiles))
			}
			if err := u.spool(p, s.cfg.MaxUploadSize); err != nil {
				var ae *apperr.Error
				var pe *os.PathError
				switch e := tooLarge(err); {
				case e != nil:
					return fail(e)
				case errors.As(err, &ae):
					return fail(err)
				case errors.As(err, &pe):
					return fail(err) // writing the spool file: our problem, a 500
				}
				return fail(apperr.Errorf(apperr.EINVALID, "The upload could not be read as a form with files."))
			}
		case name == "label_from_filename":
			b, _ := io.ReadAll(io.LimitReader(p, 16))
			switch string(b) {
			case "1", "on", "true":
				u.labelFromName = true
			}
		case name == "subject_id":
			b, _ := io.ReadAll(io.LimitReader(p, 32))
			if v := strings.TrimSpace(string(b)); v != "" {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil || id <= 0 {
					return fail(apperr.Errorf(apperr.EINVALID, "The person number must be a whole number."))
				}
				u.subjectID = id
			}
		case name == "label" || name == "notes" || name == "subject":
			b, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
			if err != nil {
				if e := tooLarge(err); e != nil {
					return fail(e)
				}
				return fail(apperr.Errorf(apperr.EINVALID, "The upload could not be read as a form with files."))
			}
			if len(b) > maxFieldBytes {
				return fail(apperr.Errorf(apperr.EINVALID, "The %s field is too long.", name))
			}
			switch name {
			case "label":
				u.label = string(b)
			case "subject":
				u.subject = string(b)
			default:
				u.notes = string(b)
			}
		default:
			// Unknown fields are read past, not kept.
			if _, err := io.Copy(io.Discard, p); err != nil {
				if e := tooLarge(err); e != nil {
					return fail(e)
				}
				return fail(apperr.Errorf(apperr.EINVALID, "The upload could not be read as a form with files."))
			}
		}
		p.Close()
	}
	if len(u.files) == 0 {
		return fail(apperr.Errorf(apperr.EINVALID, "Choose one or more photos to add."))
	}
	return u, nil
}

func (u *spooledUpload) spool(p *multipart.Part, limit int64) error {
	path := filepath.Join(u.dir, strconv.Itoa(len(u.files)))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(p, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n > limit {
		return apperr.Errorf(apperr.ETOOLARGE, "%s is larger than the %s limit.", clip(p.FileName(), 200), humanBytes(limit))
	}
	u.files = append(u.files, spooledFile{name: p.FileName(), path: path})
	return nil
}

// addSpooled hands the files to the gallery one at a time: each is read,
// decoded, embedded and stored before the next is read.
func (s *Server) addSpooled(r *http.Request, u *spooledUpload) []gallery.Result {
	results := make([]gallery.Result, 0, len(u.files))
	for i, f := range u.files {
		if err := r.Context().Err(); err != nil {
			for _, rest := range u.files[i:] {
				results = append(results, gallery.Result{Name: rest.name, Outcome: gallery.Rejected,
					Reason: "not processed: the request was cancelled", Err: apperr.Wrap(apperr.EUNAVAILABLE, err, "The request was cancelled.")})
			}
			break
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			results = append(results, gallery.Result{Name: f.name, Outcome: gallery.Rejected,
				Reason: "the uploaded file could not be read back", Err: err})
			continue
		}
		os.Remove(f.path)
		label := u.label
		if u.labelFromName {
			// As `import --label-from-filename`: the name without its
			// extension, so each person keeps an identity in results.
			base := filepath.Base(strings.ReplaceAll(f.name, `\`, "/"))
			label = strings.TrimSuffix(base, filepath.Ext(base))
		}
		results = append(results, s.gallery.Add(r.Context(), galleryActor(r),
			[]gallery.Upload{{Name: f.name, Data: data, Label: label, Notes: u.notes, Subject: u.subject, SubjectID: u.subjectID}})...)
	}
	return results
}
