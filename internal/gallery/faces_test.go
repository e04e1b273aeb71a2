package gallery_test

import (
	"context"
	"errors"
	"image"
	"sync/atomic"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/quality/qualitytest"
)

// faceless finds no face in any image; a box marked by hand is a face.
type faceless struct {
	qualitytest.Encoder
	boxes *atomic.Int64
}

func (f faceless) Embed(ctx context.Context, img image.Image) (*embed.Embedding, error) {
	e, err := f.Encoder.Embed(ctx, img)
	if err == nil {
		e.FaceFound, e.Face = false, embed.FaceQuality{Confidence: 0.1}
	}
	return e, err
}

func (f faceless) EmbedBatch(ctx context.Context, imgs []image.Image) ([]*embed.Embedding, error) {
	out := make([]*embed.Embedding, len(imgs))
	for i, img := range imgs {
		out[i], _ = f.Embed(ctx, img)
	}
	return out, nil
}

func (f faceless) EmbedBox(ctx context.Context, img image.Image, box image.Rectangle) (*embed.Embedding, error) {
	f.boxes.Add(1)
	e, err := f.Encoder.Embed(ctx, img)
	if err == nil {
		e.Face = embed.FaceQuality{Found: true, Manual: true, Box: box, Faces: 1, InterocularPx: 30}
	}
	return e, err
}

func TestPhotosWithoutAFaceAreKeptButNotSearched(t *testing.T) {
	ctx := context.Background()
	enc := faceless{Encoder: qualitytest.Encoder{ID: "fake-a"}, boxes: new(atomic.Int64)}
	f := newFixture(t, enc, 0)
	mustUser(t, f.db)
	var ids []int64
	for _, r := range f.svc.Add(ctx, admin, []gallery.Upload{{Name: "a.png", Data: fakePhoto(t, 1)}, {Name: "b.png", Data: fakePhoto(t, 2)}, {Name: "c.png", Data: fakePhoto(t, 3)}}) {
		if r.Outcome != gallery.Added || r.Searchable || len(r.Flags) != 1 || r.Flags[0].Code != gallery.FlagNoFace {
			t.Fatalf("add: %+v", r)
		}
		ids = append(ids, r.Reference.ID)
	}
	st, _ := f.svc.Stats(ctx)
	if st.References != 3 || st.NoFace != 3 || st.Indexed != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Nothing to search: the gallery has no face in it.
	if _, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: fakeSketch(t, 1), K: 5, AllowNoFace: true}); apperr.Code(err) != apperr.EINVALID {
		t.Fatalf("search of a faceless gallery: %v", err)
	}

	// An admin marks the face of the first: it is searchable.
	if _, err := f.svc.SetFaceBox(ctx, admin, ids[0], image.Rect(0, 0, 100, 100)); apperr.Code(err) != apperr.EINVALID {
		t.Fatalf("box outside the 64x80 photo: %v", err)
	}
	if _, err := f.svc.SetFaceBox(ctx, admin, 999, image.Rect(0, 0, 30, 30)); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("box on a missing reference: %v", err)
	}
	rec, err := f.svc.SetFaceBox(ctx, admin, ids[0], image.Rect(4, 6, 60, 70))
	if err != nil || !rec.Found || !rec.Manual || rec.Box != image.Rect(4, 6, 60, 70) {
		t.Fatalf("mark: %+v %v", rec, err)
	}
	st, _ = f.svc.Stats(ctx)
	if st.Indexed != 1 || st.NoFace != 2 {
		t.Fatalf("after marking: %+v", st)
	}

	// Sketches without a face: refused unless allowed, then unbanded.
	_, err = f.svc.Search(ctx, admin, gallery.Query{Sketch: fakeSketch(t, 1), K: 5})
	if !errors.Is(err, gallery.ErrNoFace) || apperr.Code(err) != apperr.EINVALID {
		t.Fatalf("no-face sketch: %v", err)
	}
	out, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: fakeSketch(t, 1), K: 5, AllowNoFace: true})
	if err != nil || out.FaceSource != "none" || out.Bands != nil || len(out.Candidates) != 1 || out.Candidates[0].ReferenceID != ids[0] || out.Candidates[0].Band != "" {
		t.Fatalf("searched anyway: %+v %v", out, err)
	}
	if out.Search.FaceSource != "none" {
		t.Fatalf("recorded face source %q", out.Search.FaceSource)
	}
	// A box drawn on the sketch is a face.
	out, err = f.svc.Search(ctx, admin, gallery.Query{Sketch: fakeSketch(t, 1), K: 5, FaceBox: image.Rect(2, 2, 40, 40)})
	if err != nil || out.FaceSource != "manual" || out.Search.FaceBox != "2,2,40,40" {
		t.Fatalf("search with a box: %+v %v", out, err)
	}

	// Another model re-embeds everything; the marked box is used again.
	before := enc.boxes.Load()
	enc2 := faceless{Encoder: qualitytest.Encoder{ID: "fake-b"}, boxes: enc.boxes}
	svc2 := reopen(t, f, enc2, 0)
	if n, err := svc2.Reindex(ctx, nil); err != nil || n != 3 {
		t.Fatalf("reindex: %d %v", n, err)
	}
	if enc.boxes.Load() != before+1 {
		t.Fatalf("reindex embedded %d marked boxes, want 1", enc.boxes.Load()-before)
	}
	st, _ = svc2.Stats(ctx)
	if st.Indexed != 1 || st.NoFace != 2 {
		t.Fatalf("after reindex: %+v", st)
	}
	if f, _ := svc2.ReferenceFace(ctx, ids[0]); f == nil || !f.Manual {
		t.Fatalf("face after reindex: %+v", f)
	}
}
