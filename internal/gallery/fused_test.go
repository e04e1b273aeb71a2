package gallery_test

import (
	"context"
	"image"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/fusion"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
)

// wideEncoder is the fake encoder with a wide crop (the aligned crop
// transposed, so it differs from the tight one).
type wideEncoder struct{ fakeEncoder }

func (w wideEncoder) Embed(ctx context.Context, img image.Image) (*embed.Embedding, error) {
	e, err := w.fakeEncoder.Embed(ctx, img)
	if e != nil && e.Aligned != nil {
		a := e.Aligned
		t := image.NewGray(a.Rect)
		for y := 0; y < a.Rect.Dy(); y++ {
			for x := 0; x < a.Rect.Dx(); x++ {
				t.Pix[x*t.Stride+y] = a.Pix[y*a.Stride+x]
			}
		}
		e.AlignedWide = t
	}
	return e, err
}

func (w wideEncoder) EmbedBatch(ctx context.Context, imgs []image.Image) ([]*embed.Embedding, error) {
	out := make([]*embed.Embedding, len(imgs))
	for i, img := range imgs {
		out[i], _ = w.Embed(ctx, img)
	}
	return out, nil
}

// fakeParts embeds an image as the gallery stores it (photo: HOG rounded
// through float16) or as Search computes it (sketch).
func fakeParts(t *testing.T, enc wideEncoder, data []byte, photo bool) fusion.Parts {
	t.Helper()
	img, _, err := imagefile.Decode(data, imagefile.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	e, err := enc.Embed(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	p := fusion.Parts{Emb: e.Vector, Tight: hog.Compute(e.Aligned), Wide: hog.Compute(e.AlignedWide)}
	if photo {
		p.Tight, _ = hog.Decode(hog.Encode(p.Tight))
		p.Wide, _ = hog.Decode(hog.Encode(p.Wide))
	}
	return p
}

// TestFusedSearchEndToEnd: under a calibration holding a fused-search
// model, Search ranks the whole gallery by the model's fused score; the
// fused vectors are cached and a restart gives identical results; reindex
// re-embeds references stored without the wide HOG and changes nothing
// else.
func TestFusedSearchEndToEnd(t *testing.T) {
	ctx := context.Background()
	enc := wideEncoder{fakeEncoder{ID: "fake-w"}}
	f := newFixture(t, enc, 1.5)
	mustUser(t, f.db)
	ids := addPeople(t, f.svc, 40)

	var pairs []fusion.Pair
	for i := 100; i < 160; i++ {
		pairs = append(pairs, fusion.Pair{Photo: fakeParts(t, enc, fakePhoto(t, i), true), Sketch: fakeParts(t, enc, fakeSketch(t, i), false)})
	}
	m, err := fusion.Fit(pairs, fusion.FitOptions{Weight: 1.5, K: 8, Whiten: true, CSLSBeta: 0.5, CSLSK: 5})
	if err != nil {
		t.Fatal(err)
	}
	c := &domain.Calibration{ModelID: "fake-w", NPairs: len(pairs), PhotoMean: m.PhotoEmbMean, SketchMean: m.SketchEmbMean,
		Fusion: m.Marshal(), FusionNote: "fused+whitened: test"}
	if err := f.db.InsertCalibration(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if info := f.svc.Calibration(); !info.Active || !strings.Contains(info.Text, "fused search, whitened") || info.Note != "fused+whitened: test" {
		t.Fatalf("calibration in use: %+v", info)
	}

	// Expected: every reference scored by the model directly.
	want := func(person int) []int64 {
		q, _ := m.Sketch(fakeParts(t, enc, fakeSketch(t, person), false))
		type hit struct {
			id    int64
			score float64
		}
		var hits []hit
		for i, id := range ids {
			p, _ := m.Photo(fakeParts(t, enc, fakePhoto(t, i), true))
			var s float64
			for k := range q {
				s += float64(q[k]) * float64(p[k])
			}
			hits = append(hits, hit{id, s})
		}
		sort.Slice(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
		var out []int64
		for _, h := range hits[:5] {
			out = append(out, h.id)
		}
		return out
	}
	results := map[int][]float64{}
	for _, person := range []int{0, 3, 17, 39} {
		out := search(t, f.svc, fakeSketch(t, person), 5)
		w := want(person)
		for k, cand := range out.Candidates {
			if cand.ReferenceID != w[k] || math.IsNaN(cand.Score) {
				t.Fatalf("person %d: rank %d is reference %d, want %d", person, k+1, cand.ReferenceID, w[k])
			}
			results[person] = append(results[person], cand.Score)
		}
	}

	var cached int
	f.db.QueryRow(`SELECT COUNT(*) FROM fused_vectors WHERE calibration_id = ?`, c.ID).Scan(&cached)
	if cached != len(ids) {
		t.Fatalf("%d fused vectors cached, want %d", cached, len(ids))
	}
	check := func(name string, svcSearch func(person int) []float64) {
		t.Helper()
		for person, scores := range results {
			if got := svcSearch(person); len(got) != len(scores) || !equal(got, scores) {
				t.Fatalf("%s: person %d scores %v, want %v", name, person, got, scores)
			}
		}
	}
	re := reopen(t, f, enc, 1.5)
	check("after a restart (cached vectors)", func(person int) []float64 { return scores(search(t, re, fakeSketch(t, person), 5)) })

	// References stored before the wide HOG existed are re-embedded.
	if _, err := f.db.Exec(`UPDATE embeddings SET hog_wide = NULL WHERE reference_id IN (?, ?, ?)`, ids[0], ids[3], ids[17]); err != nil {
		t.Fatal(err)
	}
	n, err := re.Reindex(ctx, nil)
	if err != nil || n != 3 {
		t.Fatalf("reindex re-embedded %d (%v), want 3", n, err)
	}
	var missing int
	f.db.QueryRow(`SELECT COUNT(*) FROM embeddings WHERE hog_wide IS NULL`).Scan(&missing)
	if missing != 0 {
		t.Fatalf("%d embeddings still lack the wide HOG", missing)
	}
	if n, err := re.Reindex(ctx, nil); err != nil || n != 0 {
		t.Fatalf("a second reindex did %d (%v), want nothing", n, err)
	}
	check("after reindex", func(person int) []float64 { return scores(search(t, re, fakeSketch(t, person), 5)) })
	check("after reindex and a restart", func(person int) []float64 {
		return scores(search(t, reopen(t, f, enc, 1.5), fakeSketch(t, person), 5))
	})
}

func scores(out *gallery.Outcome) []float64 {
	var s []float64
	for _, c := range out.Candidates {
		s = append(s, c.Score)
	}
	return s
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCalibrateTriesEveryForm: with wide crops and at least MinWhitenPairs
// pairs, Calibrate checks all three forms 2-fold, ships one no worse than
// any other (the simplest on a tie) and records its choice.
func TestCalibrateTriesEveryForm(t *testing.T) {
	ctx := context.Background()
	enc := wideEncoder{fakeEncoder{ID: "fake-w"}}
	f := newFixture(t, enc, 1.5)
	mustUser(t, f.db)
	ids := addPeople(t, f.svc, 30)
	rep, err := f.svc.Calibrate(ctx, admin, fakePairs(t, 100, gallery.MinWhitenPairs+20), "test set")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("form %s: %s", rep.Form, rep.FormReason)
	if len(rep.HeldOut) != 3 {
		t.Fatalf("held-out rank-1 by form %v, want all three forms", rep.HeldOut)
	}
	order := []string{gallery.FormCentre, gallery.FormFused, gallery.FormWhitened}
	for i, form := range order {
		if rep.HeldOut[form] > rep.HeldOut[rep.Form] {
			t.Fatalf("shipped %s (%.3f) although %s scored %.3f", rep.Form, rep.HeldOut[rep.Form], form, rep.HeldOut[form])
		}
		if form == rep.Form {
			for _, simpler := range order[:i] {
				if rep.HeldOut[simpler] >= rep.HeldOut[form] {
					t.Fatalf("shipped %s although the simpler %s scored as well", form, simpler)
				}
			}
		}
	}
	c, err := f.db.LatestCalibration(ctx, "fake-w")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.FusionNote, rep.Form+": ") || (c.Fusion == nil) != (rep.Form == gallery.FormCentre) {
		t.Fatalf("stored note %q, model %d bytes, for form %s", c.FusionNote, len(c.Fusion), rep.Form)
	}
	if r1 := rankOne(t, f.svc, ids); r1 < 0.9 {
		t.Fatalf("gallery rank-1 %.3f under the %s calibration", r1, rep.Form)
	}
}
