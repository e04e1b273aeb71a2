package embed

import (
	"image"
	"math"
)

// arcFaceTemplate is where the 5 points go in the 112x112 ArcFace crop:
// eye centres (image left, image right), nose tip, mouth corners (left,
// right), in pixel-centre coordinates.
var arcFaceTemplate = [5][2]float64{
	{38.2946, 51.6963},
	{73.5318, 51.5014},
	{56.0252, 71.7366},
	{41.5493, 92.3655},
	{70.7299, 92.2041},
}

// faceBox is a detected face in image pixels.
type faceBox struct {
	x1, y1, x2, y2 float64
	score          float32
}

// bestFace returns the most confident anchor. scores is [n,2] (background,
// face), boxes [n,4] (x1, y1, x2, y2 relative to the image). Boxes are
// already decoded by the graph, so no anchors or NMS are needed to pick one.
func bestFace(scores, boxes []float32, w, h int) faceBox {
	best := -1
	var bs float32 = -1
	for i := 0; i < len(scores)/2; i++ {
		if s := scores[2*i+1]; s > bs {
			best, bs = i, s
		}
	}
	if best < 0 {
		return faceBox{score: 0}
	}
	b := boxes[4*best : 4*best+4]
	return faceBox{
		x1: float64(b[0]) * float64(w), y1: float64(b[1]) * float64(h),
		x2: float64(b[2]) * float64(w), y2: float64(b[3]) * float64(h),
		score: bs,
	}
}

// landmarkCrop is the region the landmark network sees: a square centred on
// the face box with side boxScale x box height (as the package's own code
// does with boxScale 1), moved inside the image, and cut to the image where
// the image is smaller than the square.
func landmarkCrop(f faceBox, boxScale float64, w, h int) image.Rectangle {
	side := (f.y2 - f.y1) * boxScale
	cx, cy := (f.x1+f.x2)/2, (f.y1+f.y2)/2
	sw := clampInt(int(math.Round(side)), 1, w)
	sh := clampInt(int(math.Round(side)), 1, h)
	x0 := clampInt(int(math.Round(cx-float64(sw)/2)), 0, w-sw)
	y0 := clampInt(int(math.Round(cy-float64(sh)/2)), 0, h-sh)
	return image.Rect(x0, y0, x0+sw, y0+sh)
}

// fivePoints reduces 68 landmarks (x, y pairs, image pixels; the iBUG 300-W
// numbering) to the ArcFace 5: eye centres = mean of points 36-41 and
// 42-47, nose tip 30, mouth corners 48 and 54.
func fivePoints(pts []float64) [5][2]float64 {
	var out [5][2]float64
	for i := 36; i <= 41; i++ {
		out[0][0] += pts[2*i] / 6
		out[0][1] += pts[2*i+1] / 6
	}
	for i := 42; i <= 47; i++ {
		out[1][0] += pts[2*i] / 6
		out[1][1] += pts[2*i+1] / 6
	}
	for k, i := range []int{30, 48, 54} {
		out[2+k] = [2]float64{pts[2*i], pts[2*i+1]}
	}
	return out
}

// similarity is the least-squares similarity transform (rotation, uniform
// scale, translation; no reflection or shear) taking src onto dst
// (Umeyama's method in 2-D): dst ~ [a -b; b a] src + (tx, ty). ok is false
// for degenerate input (all points on one spot).
func similarity(src, dst [5][2]float64) (m affine, ok bool) {
	var sx, sy, dx, dy float64
	for i := range src {
		sx += src[i][0] / 5
		sy += src[i][1] / 5
		dx += dst[i][0] / 5
		dy += dst[i][1] / 5
	}
	var den, num1, num2 float64
	for i := range src {
		px, py := src[i][0]-sx, src[i][1]-sy
		qx, qy := dst[i][0]-dx, dst[i][1]-dy
		den += px*px + py*py
		num1 += px*qx + py*qy
		num2 += px*qy - py*qx
	}
	if den < 1e-6 {
		return affine{}, false
	}
	a, b := num1/den, num2/den
	return affine{a: a, b: -b, c: dx - (a*sx - b*sy), d: b, e: a, f: dy - (b*sx + a*sy)}, a*a+b*b > 1e-12
}

// invert returns the inverse of a similarity transform made by similarity.
func (m affine) invertSimilarity() affine {
	a, b := m.a, m.d
	n := a*a + b*b
	ia, ib := a/n, -b/n // inverse rotation-scale: [ia -ib; ib ia]
	return affine{
		a: ia, b: -ib, c: -(ia*m.c - ib*m.f),
		d: ib, e: ia, f: -(ib*m.c + ia*m.f),
	}
}

// alignFace warps the face whose 5 points are pts onto the ArcFace
// template scaled to size x size. When the warp shrinks the face, the
// region it reads is first downscaled with the antialiasing triangle filter
// so that the bilinear warp runs at about 1:1 and does not alias (a plain
// bilinear warp of a 12-megapixel photo skips most pixels). On the dev set
// this also scored better than warping directly (rank-1 0.936 vs 0.926-0.931
// for faces about 1.4x the template's size).
func alignFace(src *image.RGBA, pts [5][2]float64, size int) (rgbf, bool) {
	return alignFaceTo(src, pts, size, 1)
}

// WideCropShrink is how far the wide crop pulls every ArcFace template point
// towards the centre of the square (t -> c + WideCropShrink·(t - c)): the
// face fills about half the crop, so hair and the face outline stay in it.
const WideCropShrink = 0.55

// alignFaceTo is alignFace onto the template shrunk by shrink about the
// square's centre (1: the ArcFace template itself).
func alignFaceTo(src *image.RGBA, pts [5][2]float64, size int, shrink float64) (rgbf, bool) {
	return alignFaceWith(nil, src, pts, size, shrink)
}

// alignFaceWith is alignFaceTo with the downscaling's memory from sc (the
// warp's output is fresh: it outlives the call).
func alignFaceWith(sc *scratch, src *image.RGBA, pts [5][2]float64, size int, shrink float64) (rgbf, bool) {
	var dst [5][2]float64
	k := float64(size) / 112
	for i, p := range arcFaceTemplate {
		dst[i] = [2]float64{(56 + shrink*(p[0]-56)) * k, (56 + shrink*(p[1]-56)) * k}
	}
	fwd, ok := similarity(pts, dst)
	if !ok {
		return rgbf{}, false
	}
	inv := fwd.invertSimilarity()
	scale := math.Hypot(fwd.a, fwd.d) // output pixels per source pixel

	w, h := src.Rect.Dx(), src.Rect.Dy()
	// Source footprint of the output square, with a margin for the filter.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [][2]float64{{-1, -1}, {float64(size), -1}, {-1, float64(size)}, {float64(size), float64(size)}} {
		x, y := inv.apply(c[0], c[1])
		minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		minY, maxY = math.Min(minY, y), math.Max(maxY, y)
	}

	f := 1.0
	if scale < 1 {
		f = scale
	}
	vw, vh := max(1, int(math.Round(float64(w)*f))), max(1, int(math.Round(float64(h)*f)))
	fx, fy := float64(vw)/float64(w), float64(vh)/float64(h)
	// Window of the (virtually) downscaled image that covers the footprint.
	win := image.Rect(
		clampInt(int(math.Floor((minX+0.5)*fx-0.5))-2, 0, vw-1),
		clampInt(int(math.Floor((minY+0.5)*fy-0.5))-2, 0, vh-1),
		clampInt(int(math.Ceil((maxX+0.5)*fx-0.5))+3, 1, vw),
		clampInt(int(math.Ceil((maxY+0.5)*fy-0.5))+3, 1, vh),
	)
	if win.Dx() <= 0 || win.Dy() <= 0 {
		win = image.Rect(0, 0, vw, vh)
	}
	part := resampleWith(sc, src, src.Rect, vw, vh, win, triangleKernel)
	// Compose: output -> source pixels -> downscaled pixels -> window.
	toWin := affine{
		a: fx * inv.a, b: fx * inv.b, c: fx*(inv.c+0.5) - 0.5 - float64(win.Min.X),
		d: fy * inv.d, e: fy * inv.e, f: fy*(inv.f+0.5) - 0.5 - float64(win.Min.Y),
	}
	return warpBilinear(part, toWin, size, size), true
}
