package fusion

import (
	"errors"
)

// Pair is one person's photo and sketch descriptors.
type Pair struct{ Photo, Sketch Parts }

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
	if len(pairs) < 2 {
		return nil, errors.New("fusion: at least two pairs are needed")
	}
	ph := make([][]float32, len(pairs))
	sk := make([][]float32, len(pairs))
	pe := make([][]float32, len(pairs))
	se := make([][]float32, len(pairs))
	for i, p := range pairs {
		if len(p.Photo.Tight) != len(p.Photo.Wide) || len(p.Sketch.Tight) != len(p.Photo.Tight) || len(p.Sketch.Wide) != len(p.Photo.Tight) {
			return nil, errors.New("fusion: a pair lacks HOG descriptors")
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
	basis := pca(cent, o.K)
	m.Basis = make([]float32, 0, len(basis)*h)
	for _, r := range basis {
		m.Basis = append(m.Basis, r...)
	}
	if o.Whiten {
		a, b := make([][]float32, len(pairs)), make([][]float32, len(pairs))
		for i, p := range pairs {
			a[i], b[i] = m.embPart(p.Sketch.Emb, m.SketchEmbMean), m.embPart(p.Photo.Emb, m.PhotoEmbMean)
		}
		ew := wccn(a, b)
		for i := range pairs {
			a[i], b[i] = m.hogPart(cent[2*i+1]), m.hogPart(cent[2*i])
		}
		m.HOGWhiten = wccn(a, b)
		m.EmbWhiten = ew
	}
	if o.CSLSBeta > 0 && o.CSLSK > 0 {
		for _, p := range pairs {
			v, _ := m.Sketch(p.Sketch)
			m.CSLSSketches = append(m.CSLSSketches, v[:len(v)-1]...)
		}
	}
	return m, nil
}
