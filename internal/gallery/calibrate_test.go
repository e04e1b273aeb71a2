package gallery_test

import (
	"bytes"
	"context"
	"image"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/quality/qualitytest"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// fakeEncoder and the synthetic people come from qualitytest: sketches
// carry a constant brightness offset, the kind of modality shift a
// calibration removes.
type fakeEncoder = qualitytest.Encoder

func fakePhoto(t testing.TB, i int) []byte  { return qualitytest.Photo(i) }
func fakeSketch(t testing.TB, i int) []byte { return qualitytest.Sketch(i) }

func fakePairs(t testing.TB, from, n int) []gallery.CalibrationPair {
	var out []gallery.CalibrationPair
	for i := from; i < from+n; i++ {
		out = append(out, gallery.CalibrationPair{
			Photo: gallery.Upload{Name: "p.png", Data: fakePhoto(t, i)}, Sketch: gallery.Upload{Name: "s.png", Data: fakeSketch(t, i)}})
	}
	return out
}

// addPeople adds photos of people 0..n-1 and returns their reference ids.
func addPeople(t *testing.T, svc *gallery.Service, n int) []int64 {
	t.Helper()
	var ups []gallery.Upload
	for i := 0; i < n; i++ {
		ups = append(ups, gallery.Upload{Name: "photo.png", Data: fakePhoto(t, i)})
	}
	var ids []int64
	for _, r := range svc.Add(context.Background(), admin, ups) {
		if r.Outcome != gallery.Added {
			t.Fatalf("add: %s %s", r.Outcome, r.Reason)
		}
		ids = append(ids, r.Reference.ID)
	}
	return ids
}

func search(t *testing.T, svc *gallery.Service, sketch []byte, k int) *gallery.Outcome {
	t.Helper()
	out, err := svc.Search(context.Background(), admin, gallery.Query{Sketch: sketch, K: k})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustUser(t *testing.T, db *store.DB) {
	t.Helper()
	if err := db.CreateUser(context.Background(), &domain.User{Username: admin.Username, PasswordHash: "!", Role: "admin"}, nil); err != nil {
		t.Fatal(err)
	}
}

// rankOne is the share of people 0..n-1 whose sketch finds their photo first.
func rankOne(t *testing.T, svc *gallery.Service, ids []int64) float64 {
	t.Helper()
	hits := 0
	for i, id := range ids {
		if out := search(t, svc, fakeSketch(t, i), 1); out.Candidates[0].ReferenceID == id {
			hits++
		}
	}
	return float64(hits) / float64(len(ids))
}

func TestCalibrate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fakeEncoder{ID: "fake-a"}, 0)
	mustUser(t, f.db)
	ids := addPeople(t, f.svc, 40)
	if f.svc.Calibration().Active {
		t.Fatal("a fresh gallery reports a calibration")
	}
	before := rankOne(t, f.svc, ids)
	out0 := search(t, f.svc, fakeSketch(t, 3), 5)
	if out0.Search.CalibrationID != 0 {
		t.Fatal("an uncentred search recorded a calibration id")
	}

	// The calibration set: other people than the gallery's.
	rep, err := f.svc.Calibrate(ctx, admin, fakePairs(t, 100, 30), "test set")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rank-1 on the calibration set: before %.3f after %.3f held-out %.3f; gallery rank-1 before %.3f",
		rep.RankOneBefore, rep.RankOneAfter, rep.RankOneHeldOut, before)

	t.Run("StoredForTheModel", func(t *testing.T) {
		c, err := f.db.LatestCalibration(ctx, "fake-a")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.ID, rep.Calibration.ID; got != want {
			t.Fatalf("latest calibration %d, want %d", got, want)
		}
		if c.NPairs != 30 || c.Source != "test set" || c.CreatedBy != admin.Username || len(c.SketchMean) != 16 || len(c.PhotoMean) != 16 {
			t.Fatalf("stored calibration %+v", c)
		}
		if info := f.svc.Calibration(); !info.Active || info.ID != c.ID {
			t.Fatalf("the service uses %+v, want calibration %d", info, c.ID)
		}
		var n int
		f.db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'calibration' AND target = ?`, "calibration:"+itoa(c.ID)).Scan(&n)
		if n != 1 {
			t.Fatalf("%d audit rows for the calibration, want 1", n)
		}
	})

	t.Run("ChangesResults", func(t *testing.T) {
		out := search(t, f.svc, fakeSketch(t, 3), 5)
		if out.Search.CalibrationID != rep.Calibration.ID {
			t.Fatalf("search recorded calibration %v, want %d", out.Search.CalibrationID, rep.Calibration.ID)
		}
		if out.Candidates[0].Score == out0.Candidates[0].Score {
			t.Fatal("calibration did not change the scores")
		}
		after := rankOne(t, f.svc, ids)
		if after <= before {
			t.Fatalf("gallery rank-1 %.3f with calibration, %.3f without: the modality offset was not removed", after, before)
		}
		if rep.RankOneAfter <= rep.RankOneBefore || rep.RankOneHeldOut <= rep.RankOneBefore {
			t.Fatalf("calibration-set rank-1 before %.3f after %.3f held-out %.3f", rep.RankOneBefore, rep.RankOneAfter, rep.RankOneHeldOut)
		}
	})

	t.Run("OtherModelIgnoresIt", func(t *testing.T) {
		// The same database opened with another model: its calibration
		// (none) applies, not fake-a's.
		svc := reopen(t, f, fakeEncoder{ID: "fake-b"}, 0)
		if _, err := svc.Reindex(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if svc.Calibration().Active {
			t.Fatalf("model fake-b uses fake-a's calibration: %+v", svc.Calibration())
		}
		out := search(t, svc, fakeSketch(t, 3), 5)
		if out.Search.CalibrationID != 0 {
			t.Fatal("search under fake-b recorded fake-a's calibration")
		}
		for i := range out.Candidates {
			if a, b := out.Candidates[i], out0.Candidates[i]; a.ReferenceID != b.ReferenceID || a.Score != b.Score {
				t.Fatalf("candidate %d under fake-b = %+v, want the uncentred %+v", i, a, b)
			}
		}
		// A calibration made for another model, newer than fake-a's, does
		// not displace fake-a's.
		if err := f.db.InsertCalibration(ctx, &domain.Calibration{ModelID: "fake-b", NPairs: 1, Source: "other",
			PhotoMean: make([]float32, 16), SketchMean: make([]float32, 16)}, nil); err != nil {
			t.Fatal(err)
		}
		if got := reopen(t, f, fakeEncoder{ID: "fake-a"}, 0).Calibration(); got.ID != rep.Calibration.ID {
			t.Fatalf("fake-a uses calibration %d, want %d", got.ID, rep.Calibration.ID)
		}
	})

	t.Run("WrongDimensionIgnored", func(t *testing.T) {
		if err := f.db.InsertCalibration(ctx, &domain.Calibration{ModelID: "fake-a", NPairs: 30, Source: "broken",
			PhotoMean: make([]float32, 8), SketchMean: make([]float32, 8)}, nil); err != nil {
			t.Fatal(err)
		}
		if got := reopen(t, f, fakeEncoder{ID: "fake-a"}, 0).Calibration(); got.Active {
			t.Fatalf("a calibration of the wrong dimension was used: %+v", got)
		}
	})
}

func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// reopen builds another service over f's database and files.
func reopen(t *testing.T, f *fixture, enc gallery.Encoder, hogW float64) *gallery.Service {
	t.Helper()
	o := gallery.Options{DB: f.db, Files: &gallery.Files{Root: f.root}, Audit: &audit.Log{DB: f.db},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Encoder: enc, HOGWeight: hogW}
	svc, err := gallery.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestCalibrateBandsFollowTheHOGWeight(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fakeEncoder{ID: "fake-a"}, 1)
	mustUser(t, f.db)
	addPeople(t, f.svc, 10)
	rep, err := f.svc.Calibrate(ctx, admin, fakePairs(t, 100, 40), "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bands == nil {
		t.Fatalf("no bands: %s", rep.BandsErr)
	}
	if got, want := rep.Bands.HOGWeight, 1.0; got != want {
		t.Fatalf("bands measured with HOG weight %v, want %v", got, want)
	}
	if got, want := rep.Bands.Searches, 40; got != want {
		t.Fatalf("bands from %d searches, want %d (every pair, held out)", got, want)
	}
	if info := f.svc.Calibration(); info.Bands == nil || info.Bands.High != rep.Bands.High {
		t.Fatalf("active bands %+v, want %+v", info.Bands, rep.Bands)
	}
	out := search(t, f.svc, fakeSketch(t, 2), 5)
	for _, c := range out.Candidates {
		if c.Band == "" {
			t.Fatalf("candidate without a band: %+v", c)
		}
	}
	// Another HOG weight makes the scores incomparable: the centring stays,
	// the bands are hidden.
	info := reopen(t, f, fakeEncoder{ID: "fake-a"}, 0.5).Calibration()
	if !info.Active || info.Bands != nil {
		t.Fatalf("with another HOG weight: %+v", info)
	}
}

func TestCalibrateRejects(t *testing.T) {
	ctx := context.Background()
	t.Run("ENoModel", func(t *testing.T) {
		f := newFixture(t, nil, 0)
		if _, err := f.svc.Calibrate(ctx, admin, fakePairs(t, 0, 20), ""); apperr.Code(err) != apperr.EUNAVAILABLE {
			t.Fatalf("err=%v, want EUNAVAILABLE", err)
		}
	})
	f := newFixture(t, fakeEncoder{ID: "fake-a"}, 0)
	t.Run("ETooFewPairs", func(t *testing.T) {
		_, err := f.svc.Calibrate(ctx, admin, fakePairs(t, 0, gallery.MinCalibrationPairs-1), "")
		if apperr.Code(err) != apperr.EINVALID {
			t.Fatalf("err=%v, want EINVALID", err)
		}
	})
	t.Run("EBadImage", func(t *testing.T) {
		pairs := fakePairs(t, 0, 20)
		pairs[7].Sketch = gallery.Upload{Name: "broken.jpg", Data: []byte("not an image")}
		_, err := f.svc.Calibrate(ctx, admin, pairs, "")
		if c := apperr.Code(err); c == apperr.EINTERNAL || err == nil || !strings.Contains(apperr.Message(err), "broken.jpg") {
			t.Fatalf("err=%v (%s), want a client error naming the file", err, c)
		}
	})
	if _, err := f.db.LatestCalibration(ctx, "fake-a"); !domain.IsNotFound(err) {
		t.Fatalf("a rejected calibration was stored (%v)", err)
	}
}

// Another process (the CLI) stores a calibration: the server's periodic
// sync picks it up.
func TestSyncIndexPicksUpANewCalibration(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fakeEncoder{ID: "fake-a"}, 0)
	addPeople(t, f.svc, 5)
	cli := reopen(t, f, fakeEncoder{ID: "fake-a"}, 0)
	rep, err := cli.Calibrate(ctx, admin, fakePairs(t, 100, 20), "cli")
	if err != nil {
		t.Fatal(err)
	}
	if f.svc.Calibration().Active {
		t.Fatal("the server saw the calibration before syncing")
	}
	if _, _, err := f.svc.SyncIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.svc.Calibration(); got.ID != rep.Calibration.ID {
		t.Fatalf("after sync the server uses %+v, want calibration %d", got, rep.Calibration.ID)
	}
}

// With weight 0 the second stage is off: the ranking and the scores are
// exactly the first stage's (exact cosine over the index).
func TestFusionWeightZeroIsFirstStage(t *testing.T) {
	f := newFixture(t, fakeEncoder{ID: "fake-a"}, 0)
	mustUser(t, f.db)
	ids := addPeople(t, f.svc, 30)
	fused := reopen(t, f, fakeEncoder{ID: "fake-a"}, 1)
	enc := fakeEncoder{ID: "fake-a"}
	vec := func(data []byte) []float32 {
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		e, _ := enc.Embed(context.Background(), img)
		return e.Vector
	}
	photos := map[int64][]float32{}
	for i, id := range ids {
		photos[id] = vec(fakePhoto(t, i))
	}
	reordered := 0
	for i := 0; i < 10; i++ {
		sk := fakeSketch(t, i)
		plain := search(t, f.svc, sk, 30)
		withHOG := search(t, fused, sk, 30)

		// 1. Weight 0: score == first-stage cosine, in the exact order of a
		// brute-force cosine ranking.
		q := vec(sk)
		want := append([]int64(nil), ids...)
		cos := func(id int64) float64 {
			var s float64
			for d := range q {
				s += float64(q[d]) * float64(photos[id][d])
			}
			return s
		}
		sort.SliceStable(want, func(a, b int) bool { return cos(want[a]) > cos(want[b]) })
		for r, c := range plain.Candidates {
			if c.Score != c.Encoder {
				t.Fatalf("weight 0: candidate %d score %v != encoder cosine %v", r+1, c.Score, c.Encoder)
			}
			if c.ReferenceID != want[r] || math.Abs(c.Score-cos(c.ReferenceID)) > 1e-5 {
				t.Fatalf("weight 0: rank %d is reference %d (%.6f), brute force says %d (%.6f)", r+1, c.ReferenceID, c.Score, want[r], cos(want[r]))
			}
		}
		// 2. The same candidates' first-stage cosines under weight 1,
		// sorted, give back the weight-0 list exactly.
		first := append([]gallery.Candidate(nil), withHOG.Candidates...)
		sort.SliceStable(first, func(a, b int) bool {
			if first[a].Encoder != first[b].Encoder {
				return first[a].Encoder > first[b].Encoder
			}
			return first[a].ReferenceID < first[b].ReferenceID
		})
		for r := range first {
			if first[r].ReferenceID != plain.Candidates[r].ReferenceID || first[r].Encoder != plain.Candidates[r].Score {
				t.Fatalf("rank %d: first stage under weight 1 is %+v, weight 0 gave %+v", r+1, first[r], plain.Candidates[r])
			}
			if withHOG.Candidates[r].ReferenceID != plain.Candidates[r].ReferenceID {
				reordered++
			}
		}
	}
	if reordered == 0 {
		t.Fatal("weight 1 never changed the order: the test would not notice a broken second stage")
	}
}

// Band logic on synthetic genuine / best-impostor distributions: the high
// threshold is the lowest at which the calibration scores at or above it
// were the true person in at least the required share; the low threshold
// is the median best impostor; the wording never claims an identity.
func TestBandsSynthetic(t *testing.T) {
	precision := func(gen, imp []float64, th float64) float64 {
		g, n := 0, 0
		for _, v := range gen {
			if v >= th {
				g++
				n++
			}
		}
		for _, v := range imp {
			if v >= th {
				n++
			}
		}
		if n == 0 {
			return 1
		}
		return float64(g) / float64(n)
	}
	impAbove := func(imp []float64, th float64) int {
		n := 0
		for _, v := range imp {
			if v >= th {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name             string
		genMean, impMean float64
		spread           float64
	}{
		{"Separated", 0.60, 0.30, 0.04},
		{"Overlapping", 0.45, 0.38, 0.05},
		{"Inseparable", 0.40, 0.40, 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(42, 1))
			var gen, imp, all []float64
			for i := 0; i < 400; i++ {
				gen = append(gen, tc.genMean+tc.spread*r.NormFloat64())
				imp = append(imp, tc.impMean+tc.spread*r.NormFloat64())
				for j := 0; j < 20; j++ {
					all = append(all, tc.impMean-0.1+tc.spread*r.NormFloat64())
				}
			}
			sample := gallery.ImpostorSample{Scores: all, Total: len(all), Complete: math.Inf(-1), Gallery: 21}
			b, err := gallery.ComputeBands(gen, imp, sample, gallery.BandPrecision, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			if p := precision(gen, imp, b.High); p < gallery.BandPrecision || math.Abs(p-b.HighPrecision) > 1e-12 {
				t.Fatalf("precision at High=%.4f is %.4f (reported %.4f), want >= %.2f", b.High, p, b.HighPrecision, gallery.BandPrecision)
			}
			allowed := int(math.Floor((1 - gallery.BandPrecision) * float64(len(imp))))
			if n := impAbove(imp, b.High); n > allowed {
				t.Fatalf("%d of %d best impostors reach High %.4f, at most %d allowed", n, len(imp), b.High, allowed)
			}
			// No lower threshold (any observed score below High) meets both
			// conditions: High is the lowest such threshold.
			for _, v := range append(append([]float64(nil), gen...), imp...) {
				if v < b.High && precision(gen, imp, v) >= gallery.BandPrecision && impAbove(imp, v) <= allowed {
					t.Fatalf("threshold %.4f < High %.4f already has precision %.4f with %d impostors above", v, b.High, precision(gen, imp, v), impAbove(imp, v))
				}
			}
			sorted := append([]float64(nil), imp...)
			sort.Float64s(sorted)
			if want := min(sorted[len(sorted)/2], b.High); b.Low != want {
				t.Fatalf("Low=%.4f, want the median best impostor %.4f", b.Low, want)
			}
			if b.Low > b.High {
				t.Fatalf("Low %.4f above High %.4f", b.Low, b.High)
			}
			if b.HOGWeight != 0.5 || b.Searches != len(gen) {
				t.Fatalf("bands record hog weight %v and %d searches", b.HOGWeight, b.Searches)
			}
			for _, s := range []float64{tc.impMean - 0.2, tc.impMean, tc.genMean, tc.genMean + 0.2} {
				d := strings.ToLower(b.Describe(s, 5000))
				if !strings.Contains(d, "gallery of 5000 references") {
					t.Fatalf("score %.2f: text %q does not name the gallery size", s, d)
				}
				for _, bad := range []string{"identified", "is the person", "match confirmed", "positive"} {
					if strings.Contains(d, bad) {
						t.Fatalf("score %.2f: text %q presents a candidate as an identification", s, d)
					}
				}
			}
		})
	}
}

// References another process adds (sketchmatch import beside the server)
// become searchable after a sync; deletes made here never come back.
func TestSyncIndexPicksUpReferencesAddedElsewhere(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fakeEncoder{ID: "fake-a"}, 0)
	ids := addPeople(t, f.svc, 3)
	if err := f.svc.Delete(ctx, admin, ids[0]); err != nil {
		t.Fatal(err)
	}
	if added, removed, err := f.svc.SyncIndex(ctx); err != nil || added != 0 || removed != 0 {
		t.Fatalf("sync with nothing changed elsewhere: +%d -%d %v", added, removed, err)
	}
	cli := reopen(t, f, fakeEncoder{ID: "fake-a"}, 0)
	for _, r := range cli.Add(ctx, admin, []gallery.Upload{{Name: "a.png", Data: fakePhoto(t, 10)}, {Name: "b.png", Data: fakePhoto(t, 11)}}) {
		if r.Outcome != gallery.Added {
			t.Fatalf("add elsewhere: %s %s", r.Outcome, r.Reason)
		}
	}
	added, removed, err := f.svc.SyncIndex(ctx)
	if err != nil || added != 2 || removed != 0 {
		t.Fatalf("sync after an import elsewhere: +%d -%d %v, want +2 -0", added, removed, err)
	}
	if st, _ := f.svc.Stats(ctx); st.Indexed != 4 {
		t.Fatalf("indexed %d, want 4", st.Indexed)
	}
}
