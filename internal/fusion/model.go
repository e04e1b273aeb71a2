// Package fusion builds the fused search vector of a calibrated gallery:
// one vector per image that holds the centred (and, when learned, within-
// pair whitened) face embedding next to a PCA projection of two HOG
// descriptors (the tight ArcFace crop and a wider crop that keeps hair and
// outline), so that one exact dot-product scan over the whole gallery gives
// the fused score (cos_emb + w·cos_hog)/(1 + w), minus a per-reference
// hubness offset (CSLS) carried in one extra component.
package fusion

import (
	"errors"
	"fmt"
	"math"
)

// Parts are the descriptors of one image: the encoder vector, the HOG of
// the tight aligned crop and the HOG of the wide aligned crop.
type Parts struct {
	Emb, Tight, Wide []float32
}

// Model maps Parts to fused vectors. Photos and sketches are the two
// modalities: each is centred with its own means.
type Model struct {
	Weight float64 // HOG weight w in (cos_emb + w·cos_hog)/(1 + w)
	// CSLSBeta scales the per-reference hubness offset (0: none); CSLSK is
	// the number of best calibration-sketch scores it averages.
	CSLSBeta float64
	CSLSK    int

	PhotoEmbMean, SketchEmbMean []float32 // len E
	PhotoHOGMean, SketchHOGMean []float32 // len H = 2·hog.Len()
	Basis                       []float32 // K×H PCA directions, row-major
	EmbWhiten                   []float32 // E×E, nil: identity
	HOGWhiten                   []float32 // K×K, nil: identity
	// CSLSSketches are the calibration sketches' fused vectors (without
	// offset slot), row-major, len = n·(E+K): the offset of a reference is
	// CSLSBeta × the mean of its CSLSK best scores against them.
	CSLSSketches []float32
}

// EmbDim is the encoder dimension E.
func (m *Model) EmbDim() int { return len(m.PhotoEmbMean) }

// K is the projected HOG dimension.
func (m *Model) K() int { return len(m.Basis) / len(m.PhotoHOGMean) }

// Dim is the fused vector's length: E + K + 1 (the offset slot).
func (m *Model) Dim() int { return m.EmbDim() + m.K() + 1 }

// Whitened reports whether the model holds learned whitening.
func (m *Model) Whitened() bool { return m.EmbWhiten != nil || m.HOGWhiten != nil }

// Validate checks the shapes (a stored model may be damaged).
func (m *Model) Validate(embDim, hogLen int) error {
	e, h := len(m.PhotoEmbMean), len(m.PhotoHOGMean)
	switch {
	case e != embDim || len(m.SketchEmbMean) != e:
		return fmt.Errorf("fusion: embedding means of length %d, want %d", e, embDim)
	case h != 2*hogLen || len(m.SketchHOGMean) != h:
		return fmt.Errorf("fusion: HOG means of length %d, want %d", h, 2*hogLen)
	case len(m.Basis) == 0 || len(m.Basis)%h != 0:
		return errors.New("fusion: bad PCA basis size")
	case m.EmbWhiten != nil && len(m.EmbWhiten) != e*e:
		return errors.New("fusion: bad embedding whitening size")
	case m.HOGWhiten != nil && len(m.HOGWhiten) != m.K()*m.K():
		return errors.New("fusion: bad HOG whitening size")
	case len(m.CSLSSketches)%(e+m.K()) != 0:
		return errors.New("fusion: bad CSLS sketch matrix size")
	case m.Weight < 0 || math.IsNaN(m.Weight) || m.CSLSBeta < 0 || m.CSLSK < 0:
		return errors.New("fusion: bad weights")
	}
	return nil
}

// embPart returns the centred, normalised (and whitened) embedding.
func (m *Model) embPart(v, mean []float32) []float32 {
	e := make([]float32, len(v))
	for i := range v {
		e[i] = v[i] - mean[i]
	}
	normalise(e)
	if m.EmbWhiten != nil {
		e = matVec(m.EmbWhiten, e)
		normalise(e)
	}
	return e
}

// hogPart returns the centred, normalised concatenated HOG.
func concatHOG(p Parts, mean []float32) []float32 {
	h := make([]float32, 0, len(mean))
	h = append(h, p.Tight...)
	h = append(h, p.Wide...)
	for i := range h {
		h[i] -= mean[i]
	}
	normalise(h)
	return h
}

// hogPart returns the projected, normalised (and whitened) HOG.
func (m *Model) hogPart(h []float32) []float32 {
	z := matVec(m.Basis, h)
	normalise(z)
	if m.HOGWhiten != nil {
		z = matVec(m.HOGWhiten, z)
		normalise(z)
	}
	return z
}

func (m *Model) fuse(e, z []float32, slot float32) []float32 {
	a := float32(1 / math.Sqrt(1+m.Weight))
	b := float32(math.Sqrt(m.Weight) / math.Sqrt(1+m.Weight))
	out := make([]float32, 0, len(e)+len(z)+1)
	for _, x := range e {
		out = append(out, a*x)
	}
	for _, x := range z {
		out = append(out, b*x)
	}
	return append(out, slot)
}

// HasHOG reports whether p carries both HOG descriptors of the model's
// length.
func (m *Model) HasHOG(p Parts) bool {
	return 2*len(p.Tight) == len(m.PhotoHOGMean) && len(p.Wide) == len(p.Tight)
}

// hogOrZero is the HOG part, or zeros when p lacks a descriptor (a
// reference stored before wide crops existed, until it is re-embedded): it
// then ranks on the embedding alone, on the same scale.
func (m *Model) hogOrZero(p Parts, mean []float32) []float32 {
	if !m.HasHOG(p) {
		return make([]float32, m.K())
	}
	return m.hogPart(concatHOG(p, mean))
}

// Photo returns a reference's fused vector, its offset slot holding
// −CSLSBeta × its hubness. ok is false when the embedding has the wrong
// length.
func (m *Model) Photo(p Parts) (v []float32, ok bool) {
	if len(p.Emb) != m.EmbDim() {
		return nil, false
	}
	v = m.fuse(m.embPart(p.Emb, m.PhotoEmbMean), m.hogOrZero(p, m.PhotoHOGMean), 0)
	v[len(v)-1] = -float32(m.CSLSBeta) * m.hubness(v[:len(v)-1])
	return v, true
}

// Sketch returns a probe's fused vector (offset slot 1, so a dot product
// with a reference's vector subtracts the reference's offset).
func (m *Model) Sketch(p Parts) (v []float32, ok bool) {
	if len(p.Emb) != m.EmbDim() {
		return nil, false
	}
	return m.fuse(m.embPart(p.Emb, m.SketchEmbMean), m.hogOrZero(p, m.SketchHOGMean), 1), true
}

// hubness is the mean of the CSLSK best scores of the reference vector v
// (without slot) against the calibration sketches; 0 without CSLS.
func (m *Model) hubness(v []float32) float32 {
	d := len(v)
	n := len(m.CSLSSketches) / max(d, 1)
	if m.CSLSBeta == 0 || m.CSLSK == 0 || n == 0 {
		return 0
	}
	k := min(m.CSLSK, n)
	best := make([]float32, 0, k+1) // ascending
	for i := 0; i < n; i++ {
		s := dot(v, m.CSLSSketches[i*d:(i+1)*d])
		if len(best) == k && s <= best[0] {
			continue
		}
		// Insert in order, dropping the smallest when full.
		j := len(best)
		best = append(best, s)
		for j > 0 && best[j-1] > s {
			best[j] = best[j-1]
			j--
		}
		best[j] = s
		if len(best) > k {
			best = best[1:]
		}
	}
	var sum float32
	for _, s := range best {
		sum += s
	}
	return sum / float32(len(best))
}
