package embed

import (
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/index"
)

// devItem is one dev image run through the face pipeline: the plain and the
// mirrored crop's normalised vectors (so both flip_tta settings can be
// scored from one pass), and what the detector and landmarks said.
type devItem struct {
	id              string
	plain, mirrored []float32
	found           bool
	score           float32
	five            [5][2]float64
}

func (d devItem) vector(tta bool) []float32 {
	v := append([]float32(nil), d.plain...)
	if tta {
		m := append([]float32(nil), d.mirrored...)
		v, _ = meanDirection(v, m)
	}
	_ = normalize(v)
	return v
}

// embedDir runs every .jpg of dir through e's pipeline on two goroutines,
// each with its own worker state (the sessions are shared, as in the pool).
func embedDir(t testing.TB, e *Encoder, dir string) []devItem {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no images in %s (%v)", dir, err)
	}
	sort.Strings(names)
	items := make([]devItem, len(names))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	const par = 2
	for g := 0; g < par; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			w, err := newWorker(e)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			defer w.destroy()
			for i := g; i < len(names); i += par {
				src, err := flatten(loadImage(t, names[i]))
				if err == nil {
					var c cropResult
					c, err = w.crop(src, image.Rectangle{})
					if err == nil {
						var raw [][]float32
						raw, err = w.runEmbedder([]rgbf{c.img, mirror(c.img)})
						if err == nil {
							_ = normalize(raw[0])
							_ = normalize(raw[1])
							id := strings.TrimSuffix(filepath.Base(names[i]), ".jpg")
							items[i] = devItem{id: id, plain: raw[0], mirrored: raw[1], found: c.em.FaceFound, score: c.face.score, five: c.five}
						}
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return items
}

// rankOne is the share of probes whose true gallery item (same id) scores
// strictly highest, per subset (id prefix before the first '-') and "all".
func rankOne(t testing.TB, gallery, probes []devItem, tta bool) map[string]float64 {
	t.Helper()
	gv := make(map[string][]float32, len(gallery))
	for _, g := range gallery {
		gv[g.id] = g.vector(tta)
	}
	hits, n := map[string]int{}, map[string]int{}
	var r5, r10 int
	var rr, margin float64
	for _, p := range probes {
		pv := p.vector(tta)
		truth, ok := gv[p.id]
		if !ok {
			t.Fatalf("probe %s has no gallery item", p.id)
		}
		ts := dot(pv, truth)
		rank := 1
		for id, v := range gv {
			if id != p.id && dot(pv, v) > ts {
				rank++
			}
		}
		best := -1.0
		for id, v := range gv {
			if id != p.id {
				best = math.Max(best, dot(pv, v))
			}
		}
		margin += (ts - best) / float64(len(probes))
		rr += 1 / float64(rank) / float64(len(probes))
		if rank <= 5 {
			r5++
		}
		if rank <= 10 {
			r10++
		}
		sub := p.id[:strings.Index(p.id, "-")]
		for _, k := range []string{"all", sub} {
			n[k]++
			if rank == 1 {
				hits[k]++
			}
		}
	}
	out := map[string]float64{}
	for k := range n {
		out[k] = float64(hits[k]) / float64(n[k])
	}
	out["rank5"] = float64(r5) / float64(len(probes))
	out["rank10"] = float64(r10) / float64(len(probes))
	out["mrr"] = rr
	out["margin"] = margin
	return out
}

func quantiles(xs []float32) string {
	s := append([]float32(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float32 { return s[int(math.Round(p*float64(len(s)-1)))] }
	return strings.Join([]string{
		"min " + ftoa(q(0)), "p1 " + ftoa(q(0.01)), "p5 " + ftoa(q(0.05)), "median " + ftoa(q(0.5)),
	}, ", ")
}

func ftoa(f float32) string { return strconv.FormatFloat(float64(f), 'f', 4, 32) }

// devRankOneFloor is the measured dev rank-1 of the default pipeline minus a
// small margin. Measured (ONNX Runtime 1.24.1, CPU): 0.936 with and without
// flip TTA (189/202; the fixed-crop baseline (d) is 0.931); TTA adds
// rank-5 0.975 -> 0.980, rank-10 0.990 -> 0.995, MRR 0.9531 -> 0.9553, so
// the preset keeps flip_tta on for about 6 ms more per image.
const devRankOneFloor = 0.92

// TestDevRankOne is the acceptance check of the face pipeline on the dev
// split of the sketch/photo set: sketch -> photo rank-1 with detection and
// alignment (no fixed crop). It needs ../shared/eval/dev; embedding its 404
// images takes about 10-20 s on 2 cores.
func TestDevRankOne(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 404 images; skipped with -short")
	}
	dev := filepath.Join(sharedDir(t), "eval", "dev")
	if _, err := os.Stat(filepath.Join(dev, "photos")); err != nil {
		t.Skipf("dev set not found: %v", err)
	}
	e := mustOpen(t, faceModelDir(t), Options{Workers: 1, IntraOpThreads: 1})
	photos := embedDir(t, e, filepath.Join(dev, "photos"))
	sketches := embedDir(t, e, filepath.Join(dev, "sketches"))

	for _, set := range []struct {
		name  string
		items []devItem
	}{{"photos", photos}, {"sketches", sketches}} {
		var scores []float32
		missed := 0
		for _, it := range set.items {
			scores = append(scores, it.score)
			if !it.found {
				missed++
			}
		}
		t.Logf("%s: %d images, no face %d; detector best score %s", set.name, len(set.items), missed, quantiles(scores))
	}

	// Geometry: CUFS photos are pre-aligned with the eyes at about (75,125)
	// and (125,125); detection + landmarks must find them there on average.
	var lx, ly, rx, ry float64
	for _, p := range photos {
		lx += p.five[0][0] / float64(len(photos))
		ly += p.five[0][1] / float64(len(photos))
		rx += p.five[1][0] / float64(len(photos))
		ry += p.five[1][1] / float64(len(photos))
	}
	t.Logf("mean eye centres on photos: (%.1f, %.1f) (%.1f, %.1f)", lx, ly, rx, ry)
	if math.Hypot(lx-75, ly-125) > 8 || math.Hypot(rx-125, ry-125) > 8 {
		t.Errorf("mean eye centres (%.1f,%.1f) (%.1f,%.1f) are far from the dev set's (75,125) (125,125)", lx, ly, rx, ry)
	}

	plain := rankOne(t, photos, sketches, false)
	tta := rankOne(t, photos, sketches, true)
	for _, r := range []struct {
		name string
		m    map[string]float64
	}{{"without flip TTA", plain}, {"with flip TTA   ", tta}} {
		t.Logf("%s: rank-1 %.3f (cuhk %.3f, ar %.3f, xm2vts %.3f), rank-5 %.3f, rank-10 %.3f, MRR %.4f, mean(true - best impostor cos) %.4f",
			r.name, r.m["all"], r.m["cuhk"], r.m["ar"], r.m["xm2vts"], r.m["rank5"], r.m["rank10"], r.m["mrr"], r.m["margin"])
	}

	got := plain["all"]
	if e.Manifest().FlipTTA {
		got = tta["all"]
	}
	if want := devRankOneFloor; got < want {
		t.Errorf("rank-1 of the default pipeline (flip_tta %v) = %.3f, want >= %.3f", e.Manifest().FlipTTA, got, want)
	}
	t.Run("IndexIdenticalOnRealEmbeddings", func(t *testing.T) { indexIdentical(t, photos, sketches) })
}

// indexIdentical checks the index's two-stage search (int8 first stage,
// exact float32 re-score) on real embeddings: the dev photos as the
// gallery, plus near-copies of some of them (perturbed by 1e-7 to 1e-3 per
// component, and exact copies under other ids) so that many scores are
// closer together than the int8 codes can resolve; every sketch as a
// query. The reference is the same index asked for every row (k = Len():
// every row is re-scored, which is the exact float32 scan), and the scores
// are checked against a float64 dot product.
func indexIdentical(t *testing.T, photos, sketches []devItem) {
	const dim = 512
	r := rand.New(rand.NewPCG(15, 15))
	var ids []int64
	var vecs []float32
	for i, p := range photos {
		v := p.vector(false)
		ids, vecs = append(ids, int64(i)), append(vecs, v...)
		if i%4 != 0 {
			continue
		}
		for j, noise := range []float64{0, 1e-7, 1e-5, 1e-4, 1e-3} {
			w := append([]float32(nil), v...)
			for c := range w {
				w[c] += float32(r.NormFloat64() * noise)
			}
			_ = normalize(w)
			ids, vecs = append(ids, int64(1000*(j+1)+i)), append(vecs, w...)
		}
	}
	for _, onDisk := range []bool{false, true} {
		x := index.New(dim)
		if onDisk {
			var err error
			if x, err = index.NewOnDisk(dim, t.TempDir()); err != nil {
				t.Fatal(err)
			}
			defer x.Close()
		}
		if err := x.AddBatch(ids, vecs); err != nil {
			t.Fatal(err)
		}
		byID := map[int64][]float32{}
		for i, id := range ids {
			byID[id] = vecs[i*dim : (i+1)*dim]
		}
		for _, s := range sketches {
			q := s.vector(false)
			all := x.Search(q, x.Len())
			for _, h := range all[:5] {
				var want float64
				for c, f := range byID[h.ID] {
					want += float64(f) * float64(q[c])
				}
				if math.Abs(want-float64(h.Score)) > 1e-5 {
					t.Fatalf("sketch %s: id %d score %v, float64 dot %v", s.id, h.ID, h.Score, want)
				}
			}
			for _, k := range []int{1, 10, 50, 200} {
				got := x.Search(q, k)
				if want := all[:min(k, len(all))]; !slices.Equal(got, want) {
					t.Fatalf("onDisk=%v sketch %s k=%d:\n got %v\nwant %v", onDisk, s.id, k, got, want)
				}
			}
		}
	}
}
