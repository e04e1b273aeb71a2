package main

import (
	"fmt"
	"math"
)

// CLIP preprocessing constants, as written to model.json.
var (
	pixelScale = 1.0 / 255
	clipMean   = [channels]float64{0.48145466, 0.4578275, 0.40821073}
	clipStd    = [channels]float64{0.26862954, 0.26130258, 0.27577711}
)

// fixedInputDescription documents fixedImagePixel / fixedPixelValues for
// expected.json, so another implementation can rebuild the exact input.
const fixedInputDescription = "Synthetic 32x32 RGB image (already 32x32, so the shortest-side resize and centre crop are identities), " +
	"pixel at column x (0..31, left to right) and row y (0..31, top to bottom) = (R, G, B) = (8x, 8y, 255-4(x+y)) as 8-bit values. " +
	"pixel_values[0][c][y][x] = float32((v*scale - mean[c]) / std[c]) with scale=1/255 and the CLIP mean/std of model.json, NCHW. " +
	"\"vector\" is the raw image_embeds output, \"normalized\" is it divided by its L2 norm."

// fixedImagePixel is the synthetic test image: (8x, 8y, 255-4(x+y)).
func fixedImagePixel(x, y int) [channels]uint8 {
	return [channels]uint8{uint8(8 * x), uint8(8 * y), uint8(255 - 4*(x+y))}
}

// fixedPixelValues is the preprocessed fixed image as the float32 NCHW tensor
// fed to the graph.
func fixedPixelValues() []float32 {
	out := make([]float32, channels*imageSize*imageSize)
	for y := 0; y < imageSize; y++ {
		for x := 0; x < imageSize; x++ {
			px := fixedImagePixel(x, y)
			for c := 0; c < channels; c++ {
				v := (float64(px[c])*pixelScale - clipMean[c]) / clipStd[c]
				out[(c*imageSize+y)*imageSize+x] = float32(v)
			}
		}
	}
	return out
}

// ---- float64 reference of the graph built by buildModel ----

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// layerNorm normalises each row of x ([rows, n]) in place-free fashion.
func layerNorm(x []float64, n int, g, b []float32) []float64 {
	eps := float64(lnEpsilon)
	out := make([]float64, len(x))
	for r := 0; r < len(x)/n; r++ {
		row := x[r*n : (r+1)*n]
		var mean float64
		for _, v := range row {
			mean += v
		}
		mean /= float64(n)
		var variance float64
		for _, v := range row {
			variance += (v - mean) * (v - mean)
		}
		variance /= float64(n)
		inv := 1 / math.Sqrt(variance+eps)
		for i, v := range row {
			out[r*n+i] = (v-mean)*inv*float64(g[i]) + float64(b[i])
		}
	}
	return out
}

// matmul computes x [rows, in] @ w [in, out] (+ bias when non-nil).
func matmul(x []float64, in int, w []float32, out int, bias []float32) []float64 {
	rows := len(x) / in
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for j := 0; j < out; j++ {
			var s float64
			if bias != nil {
				s = float64(bias[j])
			}
			for i := 0; i < in; i++ {
				s += x[r*in+i] * float64(w[i*out+j])
			}
			y[r*out+j] = s
		}
	}
	return y
}

func addInto(dst, src []float64) []float64 {
	out := make([]float64, len(dst))
	for i := range dst {
		out[i] = dst[i] + src[i]
	}
	return out
}

// referenceForward runs the tiny CLIP graph in float64 on a [1,3,32,32] NCHW
// input and returns image_embeds [8].
func referenceForward(w *weights, pixels []float32) ([]float64, error) {
	if len(pixels) != channels*imageSize*imageSize {
		return nil, fmt.Errorf("input has %d values, want %d", len(pixels), channels*imageSize*imageSize)
	}
	// Patch embedding: token 0 is the class token, token 1+p is patch
	// p = gy*gridSize + gx (row-major over the Conv output grid, which is
	// what Reshape [1,16,16] + Transpose produce).
	tokens := make([]float64, numTokens*width)
	copy(tokens, f64(w.classEmb))
	for gy := 0; gy < gridSize; gy++ {
		for gx := 0; gx < gridSize; gx++ {
			p := gy*gridSize + gx
			for oc := 0; oc < width; oc++ {
				var s float64
				for c := 0; c < channels; c++ {
					for ky := 0; ky < patchSize; ky++ {
						for kx := 0; kx < patchSize; kx++ {
							y, x := gy*patchSize+ky, gx*patchSize+kx
							pv := float64(pixels[(c*imageSize+y)*imageSize+x])
							wv := float64(w.patch[((oc*channels+c)*patchSize+ky)*patchSize+kx])
							s += pv * wv
						}
					}
				}
				tokens[(1+p)*width+oc] = s
			}
		}
	}
	tokens = addInto(tokens, f64(w.posEmb))
	h0 := layerNorm(tokens, width, w.lnPreG, w.lnPreB)

	// Single-head self-attention.
	a := layerNorm(h0, width, w.ln1G, w.ln1B)
	q := matmul(a, width, w.wq, width, w.bq)
	k := matmul(a, width, w.wk, width, w.bk)
	v := matmul(a, width, w.wv, width, w.bv)
	ctx := make([]float64, numTokens*width)
	scores := make([]float64, numTokens)
	for i := 0; i < numTokens; i++ {
		maxS := math.Inf(-1)
		for j := 0; j < numTokens; j++ {
			var s float64
			for d := 0; d < width; d++ {
				s += q[i*width+d] * k[j*width+d]
			}
			scores[j] = s * float64(attnScale)
			maxS = math.Max(maxS, scores[j])
		}
		var sum float64
		for j := range scores {
			scores[j] = math.Exp(scores[j] - maxS)
			sum += scores[j]
		}
		for j := range scores {
			p := scores[j] / sum
			for d := 0; d < width; d++ {
				ctx[i*width+d] += p * v[j*width+d]
			}
		}
	}
	h1 := addInto(h0, matmul(ctx, width, w.wo, width, w.bo))

	// MLP with exact (erf) GELU.
	m := layerNorm(h1, width, w.ln2G, w.ln2B)
	f1 := matmul(m, width, w.fc1, mlpWidth, w.fc1B)
	for i, x := range f1 {
		f1[i] = x * 0.5 * (1 + math.Erf(x/float64(sqrt2)))
	}
	h2 := addInto(h1, matmul(f1, mlpWidth, w.fc2, width, w.fc2B))

	// Class token -> ln_post -> projection.
	pooled := layerNorm(h2[:width], width, w.lnPostG, w.lnPostB)
	return matmul(pooled, width, w.proj, embedDim, nil), nil
}

// l2Normalize returns v / ||v||.
func l2Normalize(v []float64) []float64 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / n
	}
	return out
}
