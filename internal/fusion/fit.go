package fusion

import (
	"errors"
)

// Pair is one person's photo and sketch descriptors.
type Pair struct{ Photo, Sketch Parts }

// MaxPCASamples bounds the images the PCA is computed from (its cost grows
// with the cube of their number); larger calibration sets are thinned
// evenly for the PCA only, and every pair still feeds the means and the
// whitening.
const MaxPCASamples = 1000

// MaxCSLSSketches bounds the calibration sketches a reference's hubness is
// measured against (each reference's vector costs one dot product per
// sketch, at every projection); larger sets are thinned evenly.
const MaxCSLSSketches = 1000

// FitOptions choose what Fit learns.
type FitOptions struct {
	Weight float64 // HOG weight
	K      int     // PCA dimension of the concatenated HOG
	// Whiten learns the within-pair whitening (WCCN) of both modalities;
	// without it the model is un-learned: means and an unsupervised PCA.
	Whiten   bool
	CSLSBeta float64
	CSLSK    int
}

// Fit computes a model from calibration pairs.
func Fit(pairs []Pair, o FitOptions) (*Model, error) {
	plain, whitened, err := FitForms(pairs, o, o.Whiten)
	if o.Whiten {
		return whitened, err
	}
	return plain, err
}

// FitForms computes the un-learned model (means, PCA, CSLS) and, when
// whiten is set, the whitened one from the same means and PCA.
func FitForms(pairs []Pair, o FitOptions, whiten bool) (plain, whitened *Model, err error) {
	if len(pairs) < 2 {
		return nil, nil, errors.New("fusion: at least two pairs are needed")
	}
	ph := make([][]float32, len(pairs))
	sk := make([][]float32, len(pairs))
	pe := make([][]float32, len(pairs))
	se := make([][]float32, len(pairs))
	for i, p := range pairs {
		if len(p.Photo.Tight) != len(p.Photo.Wide) || len(p.Sketch.Tight) != len(p.Photo.Tight) || len(p.Sketch.Wide) != len(p.Photo.Tight) {
			return nil, nil, errors.New("fusion: a pair lacks HOG descriptors")
		}
		ph[i] = append(append([]float32(nil), p.Photo.Tight...), p.Photo.Wide...)
		sk[i] = append(append([]float32(nil), p.Sketch.Tight...), p.Sketch.Wide...)
		pe[i], se[i] = p.Photo.Emb, p.Sketch.Emb
	}
	e, h := len(pe[0]), len(ph[0])
	m := &Model{Weight: o.Weight, CSLSBeta: o.CSLSBeta, CSLSK: o.CSLSK,
		PhotoEmbMean: mean(pe, e), SketchEmbMean: mean(se, e),
		PhotoHOGMean: mean(ph, h), SketchHOGMean: mean(sk, h)}
	// PCA on both modalities, each centred with its own mean.
	cent := make([][]float32, 0, 2*len(pairs))
	for i, p := range pairs {
		cent = append(cent, concatHOG(p.Photo, m.PhotoHOGMean), concatHOG(p.Sketch, m.SketchHOGMean))
		ph[i], sk[i] = nil, nil
	}
	sample := cent
	if len(cent) > MaxPCASamples {
		sample = make([][]float32, 0, MaxPCASamples)
		for j := 0; j < MaxPCASamples/2; j++ { // whole pairs, evenly spaced
			i := j * len(pairs) / (MaxPCASamples / 2)
			sample = append(sample, cent[2*i], cent[2*i+1])
		}
	}
	basis := pca(sample, o.K)
	m.Basis = make([]float32, 0, len(basis)*h)
	for _, r := range basis {
		m.Basis = append(m.Basis, r...)
	}
	plain = m
	if whiten {
		w := *m
		a, b := make([][]float32, len(pairs)), make([][]float32, len(pairs))
		for i, p := range pairs {
			a[i], b[i] = m.embPart(p.Sketch.Emb, m.SketchEmbMean), m.embPart(p.Photo.Emb, m.PhotoEmbMean)
		}
		w.EmbWhiten = wccn(a, b)
		for i := range pairs {
			a[i], b[i] = m.hogPart(cent[2*i+1]), m.hogPart(cent[2*i])
		}
		w.HOGWhiten = wccn(a, b)
		whitened = &w
	}
	for _, x := range []*Model{plain, whitened} {
		if x == nil || o.CSLSBeta <= 0 || o.CSLSK <= 0 {
			continue
		}
		n := min(len(pairs), MaxCSLSSketches)
		for j := 0; j < n; j++ {
			v, _ := x.Sketch(pairs[j*len(pairs)/n].Sketch)
			x.CSLSSketches = append(x.CSLSSketches, v[:len(v)-1]...)
		}
	}
	return plain, whitened, nil
}
