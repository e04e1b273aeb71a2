package embed

import (
	"image"
	"math"
	"sort"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// FaceQuality describes the face an embedding was made from: what the
// detector found, how big and sharp the face is and roughly where it looks.
// The gallery stores it with each reference and gates on it: a reference
// without a face is kept but not searched, and a sketch without one gets no
// confidence band.
type FaceQuality struct {
	// Found: a face was detected above the detector's threshold (or marked
	// by hand, Manual) and aligned; false means the centred-crop fallback
	// was embedded.
	Found bool
	// Manual: the face box was drawn by a person, not detected.
	Manual bool
	// Confidence is the detector's probability for the face used (the best
	// one, also when below the threshold); 0 for a hand-drawn box.
	Confidence float32
	// Box is the face used, in the pixels of the decoded (EXIF-oriented)
	// image; empty when no face was found.
	Box image.Rectangle
	// Faces counts the distinct faces detected above the threshold.
	Faces int
	// InterocularPx is the distance between the eye centres in image pixels
	// (0 without landmarks).
	InterocularPx float64
	// Sharpness is the variance of the Laplacian of the aligned grey face
	// (pixel values 0..255); low values mean a blurred face.
	Sharpness float64
	// YawDeg is a rough left/right head turn from the landmarks: the nose
	// tip's offset from the eyes' midpoint relative to half the eye
	// distance, as an angle (0 = frontal; sign follows the image x axis).
	YawDeg float64
}

// MinInterocularPx is the eye distance below which a face is flagged as too
// small. Measured on 40 dev photos shrunk until the eyes were d px apart
// (TestTinyFaceThreshold), the mean cosine to the full-size embedding was
// 0.991 at 24 px, 0.954 at 16, 0.916 at 14, 0.840 at 12 and 0.520 at 8:
// below 16 px the face's identity is lost quickly.
const MinInterocularPx = 16

// detections returns the faces scoring at least thr, most confident first,
// with overlapping anchors of one face merged by non-maximum suppression
// (IoU above 0.3). scores is [n,2], boxes [n,4] relative to the image.
func detections(scores, boxes []float32, w, h int, thr float32) []faceBox {
	var cand []faceBox
	for i := 0; i < len(scores)/2 && 4*i+3 < len(boxes); i++ {
		if s := scores[2*i+1]; s >= thr {
			b := boxes[4*i : 4*i+4]
			cand = append(cand, faceBox{x1: float64(b[0]) * float64(w), y1: float64(b[1]) * float64(h),
				x2: float64(b[2]) * float64(w), y2: float64(b[3]) * float64(h), score: s})
		}
	}
	sort.SliceStable(cand, func(i, j int) bool { return cand[i].score > cand[j].score })
	var keep []faceBox
	for _, c := range cand {
		overlaps := false
		for _, k := range keep {
			if iou(c, k) > 0.3 {
				overlaps = true
				break
			}
		}
		if !overlaps {
			keep = append(keep, c)
		}
	}
	return keep
}

func iou(a, b faceBox) float64 {
	ix := math.Max(0, math.Min(a.x2, b.x2)-math.Max(a.x1, b.x1))
	iy := math.Max(0, math.Min(a.y2, b.y2)-math.Max(a.y1, b.y1))
	inter := ix * iy
	union := (a.x2-a.x1)*(a.y2-a.y1) + (b.x2-b.x1)*(b.y2-b.y1) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

func (f faceBox) rect() image.Rectangle {
	return image.Rect(int(math.Round(f.x1)), int(math.Round(f.y1)), int(math.Round(f.x2)), int(math.Round(f.y2)))
}

// geometry fills the landmark-derived measures from the five points (eye
// centres, nose tip, mouth corners).
func (q *FaceQuality) geometry(five [5][2]float64) {
	ex, ey := five[1][0]-five[0][0], five[1][1]-five[0][1]
	q.InterocularPx = math.Hypot(ex, ey)
	if q.InterocularPx == 0 {
		return
	}
	// The nose's offset from the eyes' midpoint along the eye line.
	mx, my := (five[0][0]+five[1][0])/2, (five[0][1]+five[1][1])/2
	along := ((five[2][0]-mx)*ex + (five[2][1]-my)*ey) / q.InterocularPx
	r := math.Max(-1, math.Min(1, along/(q.InterocularPx/2)))
	q.YawDeg = math.Asin(r) * 180 / math.Pi
}

// laplacianVariance is the variance of the 4-neighbour Laplacian over the
// interior of g: a standard focus measure.
func laplacianVariance(g *image.Gray) float64 {
	if g == nil {
		return 0
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w < 3 || h < 3 {
		return 0
	}
	at := func(x, y int) float64 { return float64(g.Pix[y*g.Stride+x]) }
	var sum, sq float64
	n := 0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			l := at(x-1, y) + at(x+1, y) + at(x, y-1) + at(x, y+1) - 4*at(x, y)
			sum += l
			sq += l * l
			n++
		}
	}
	m := sum / float64(n)
	return sq/float64(n) - m*m
}

// MinBoxPx is the smallest side of a hand-drawn face box.
const MinBoxPx = 16

// CheckBox validates a hand-drawn face box against the image bounds.
func CheckBox(box, bounds image.Rectangle) error {
	switch {
	case box.Empty():
		return apperr.Errorf(apperr.EINVALID, "The face box is empty: draw a box around the face.")
	case !box.In(bounds):
		return apperr.Errorf(apperr.EINVALID, "The face box lies outside the image (%d×%d pixels).", bounds.Dx(), bounds.Dy())
	case box.Dx() < MinBoxPx || box.Dy() < MinBoxPx:
		return apperr.Errorf(apperr.EINVALID, "The face box is too small (at least %d×%d pixels).", MinBoxPx, MinBoxPx)
	}
	return nil
}
