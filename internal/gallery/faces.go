package gallery

import (
	"context"
	"fmt"
	"image"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
)

// BoxEncoder is an Encoder that can embed a face marked by hand (the real
// encoder does; test doubles may not).
type BoxEncoder interface {
	EmbedBox(ctx context.Context, img image.Image, box image.Rectangle) (*embed.Embedding, error)
}

// faceRecord is the stored form of an embedding's face-quality record.
func faceRecord(e *embed.Embedding) *domain.FaceRecord {
	q := e.Face
	return &domain.FaceRecord{Checked: true, Found: e.FaceFound, Manual: q.Manual, Confidence: float64(q.Confidence),
		Box: q.Box, Faces: q.Faces, InterocularPx: q.InterocularPx, Sharpness: q.Sharpness, YawDeg: q.YawDeg}
}

// newEmbedding is what the store keeps of an embedding.
func (s *Service) newEmbedding(e *embed.Embedding) *domain.NewEmbedding {
	ne := &domain.NewEmbedding{ModelID: s.enc.ModelID(), Vector: e.Vector, FaceFound: e.FaceFound, Face: faceRecord(e)}
	ne.HOG, ne.HOGWide = storedDescriptors(e)
	return ne
}

// Face flags: why a reference needs an admin's attention.
const (
	FlagNoFace   = "no-face"
	FlagMultiple = "several-faces"
	FlagTiny     = "small-face"
	FlagManual   = "marked-by-hand"
)

// FaceFlag is one reason shown beside a reference.
type FaceFlag struct {
	Code string // one of the Flag constants
	Text string // for people
}

// FaceFlags explains a reference's face record: empty when the face is
// fine. A reference without a face is not searchable; the others are, but
// an admin should look at them.
func FaceFlags(f *domain.FaceRecord) []FaceFlag {
	if f == nil || !f.Checked {
		return nil
	}
	var out []FaceFlag
	if !f.Found {
		return append(out, FaceFlag{FlagNoFace, "No face was detected: this photo is stored but not searched. Mark the face by hand or delete the photo."})
	}
	if f.Manual {
		out = append(out, FaceFlag{FlagManual, "The face was marked by hand."})
	}
	if f.Faces > 1 {
		out = append(out, FaceFlag{FlagMultiple, fmt.Sprintf("%d faces were detected; the most confident one is used. Check it is the right person, or mark the face by hand.", f.Faces)})
	}
	if f.InterocularPx > 0 && f.InterocularPx < embed.MinInterocularPx {
		out = append(out, FaceFlag{FlagTiny, fmt.Sprintf("The face is small (eyes %.0f px apart, under %d): matches on it are less reliable. Use a larger photo if there is one.", f.InterocularPx, embed.MinInterocularPx)})
	}
	return out
}

// Searchable reports whether a reference with this record is in the index.
func Searchable(f *domain.FaceRecord) bool { return f != nil && f.Found }

// ReferenceFace returns the face record of a reference for the active model
// (nil when it is not embedded yet).
func (s *Service) ReferenceFace(ctx context.Context, id int64) (*domain.FaceRecord, error) {
	if s.enc == nil {
		return nil, nil
	}
	return s.db.ReferenceFace(ctx, id, s.enc.ModelID())
}

// SetFaceBox re-embeds a reference from a face box drawn by an admin (in
// the pixels of the photo as displayed, EXIF orientation applied), stores
// the box and the new embedding with its audit row in one transaction and
// puts the reference into the index. A later reindex keeps using the box.
func (s *Service) SetFaceBox(ctx context.Context, who Actor, id int64, box image.Rectangle) (*domain.FaceRecord, error) {
	if s.enc == nil {
		return nil, s.unavailable()
	}
	be, ok := s.enc.(BoxEncoder)
	if !ok {
		return nil, apperr.Errorf(apperr.EUNSUPPORTED, "The active model cannot embed a face marked by hand.")
	}
	ref, err := s.db.ReferenceByID(ctx, id)
	if domain.IsNotFound(err) {
		return nil, apperr.Errorf(apperr.ENOTFOUND, "Reference #%d does not exist.", id)
	}
	if err != nil {
		return nil, err
	}
	img, err := s.loadImage(ref)
	if err != nil {
		return nil, apperr.Wrap(apperr.EINTERNAL, err, "reading reference #%d", id)
	}
	if err := embed.CheckBox(box, img.Bounds()); err != nil {
		return nil, err
	}
	e, err := be.EmbedBox(ctx, img, box)
	if err != nil {
		return nil, err
	}
	ne := s.newEmbedding(e)
	entry, err := s.audit.Entry(audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionReferenceUpdate,
		Target: fmt.Sprintf("reference:%d", id), Outcome: audit.OutcomeSuccess,
		Details: fmt.Sprintf("face_box=%s model=%s", domain.FormatBox(box), ne.ModelID)})
	if err != nil {
		return nil, err
	}
	err = s.db.SetFaceBox(ctx, id, box, ne, entry)
	if domain.IsNotFound(err) {
		return nil, apperr.Errorf(apperr.ENOTFOUND, "Reference #%d does not exist.", id)
	}
	if err != nil {
		return nil, storageError(err)
	}
	s.hogs.drop(id)
	s.indexPut(id, ne)
	s.invalidateCounts()
	s.log.Info("reference face marked by hand", "user", who.Username, "reference", id, "box", domain.FormatBox(box))
	return ne.Face, nil
}

// indexPut brings the live index in line with a reference's new embedding:
// in it with a face, out of it without.
func (s *Service) indexPut(id int64, ne *domain.NewEmbedding) {
	if ne.FaceFound {
		s.indexAdd(id, ne.Vector, ne.HOG, ne.HOGWide)
		return
	}
	if idx, _ := s.snapshot(); idx != nil {
		idx.Remove(id)
	}
}

// faceAuditDetails is the face part of an audit row's details.
func faceAuditDetails(f *domain.FaceRecord) string {
	if !f.Found {
		return "face=not-detected searchable=false"
	}
	d := fmt.Sprintf("face=%s faces=%d interocular_px=%.0f", map[bool]string{true: "manual", false: "detected"}[f.Manual], f.Faces, f.InterocularPx)
	for _, fl := range FaceFlags(f) {
		if fl.Code != FlagManual {
			d += " flag=" + fl.Code
		}
	}
	return d
}
