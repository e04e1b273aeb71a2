package main

import (
	"math"
	"math/rand/v2"
)

// Architecture of the tiny CLIP-shaped vision encoder.
const (
	imageSize  = 32 // input is [1, channels, imageSize, imageSize]
	channels   = 3
	patchSize  = 8                      // Conv kernel = stride
	gridSize   = imageSize / patchSize  // 4x4 patches
	numPatches = gridSize * gridSize    // 16
	numTokens  = numPatches + 1         // class token + patches
	width      = 16                     // token width (Conv output channels)
	mlpWidth   = 2 * width              // MLP hidden width
	embedDim   = 8                      // projection output
	lnEpsilon  = float32(1e-5)          // every LayerNormalization
	attnScale  = float32(0.25)          // 1/sqrt(width), single head
	seedHi     = uint64(0x5e7c4_c11b)   // PCG seed, first word
	seedLo     = uint64(0x7193_2026_01) // PCG seed, second word

	inputName  = "pixel_values"
	outputName = "image_embeds"

	opsetVersion = 17 // LayerNormalization needs 17
	irVersion    = 8
)

// sqrt2 is the GELU divisor as stored in the graph (float32).
var sqrt2 = float32(math.Sqrt2)

// weights holds every parameter of the graph, row-major, float32 as stored.
// MatMul weights are [in, out] (the graph computes x @ W + b).
type weights struct {
	patch          []float32 // [width, channels, patchSize, patchSize], no bias
	classEmb       []float32 // [width]
	posEmb         []float32 // [numTokens, width]
	lnPreG, lnPreB []float32 // [width]
	ln1G, ln1B     []float32 // [width]
	wq, wk, wv, wo []float32 // [width, width]
	bq, bk, bv, bo []float32 // [width]
	ln2G, ln2B     []float32 // [width]
	fc1            []float32 // [width, mlpWidth]
	fc1B           []float32 // [mlpWidth]
	fc2            []float32 // [mlpWidth, width]
	fc2B           []float32 // [width]
	lnPostG        []float32 // [width]
	lnPostB        []float32 // [width]
	proj           []float32 // [width, embedDim], no bias
}

// uniformGen draws float32 values uniformly from [-a, a) using only the PCG
// integer stream (whose sequence is fixed by the math/rand/v2 spec) and one
// IEEE multiply, so the weights are identical on every platform.
type uniformGen struct{ r *rand.Rand }

func (g uniformGen) fill(n int, a float64) []float32 {
	step := a / (1 << 23)
	out := make([]float32, n)
	for i := range out {
		k := int64(g.r.Uint64()>>40) - 1<<23 // uniform in [-2^23, 2^23)
		out[i] = float32(float64(k) * step)
	}
	return out
}

// gammas draws LayerNorm scales around 1.
func (g uniformGen) gammas(n int, a float64) []float32 {
	out := g.fill(n, a)
	for i := range out {
		out[i] += 1
	}
	return out
}

// newWeights generates the seeded parameters. The draw order is part of the
// format: changing it changes model.onnx.
func newWeights() *weights {
	g := uniformGen{rand.New(rand.NewPCG(seedHi, seedLo))}
	w := &weights{}
	w.patch = g.fill(width*channels*patchSize*patchSize, 0.12)
	w.classEmb = g.fill(width, 1.0)
	w.posEmb = g.fill(numTokens*width, 0.5)
	w.lnPreG, w.lnPreB = g.gammas(width, 0.2), g.fill(width, 0.1)
	w.ln1G, w.ln1B = g.gammas(width, 0.2), g.fill(width, 0.1)
	w.wq, w.bq = g.fill(width*width, 0.6), g.fill(width, 0.1)
	w.wk, w.bk = g.fill(width*width, 0.6), g.fill(width, 0.1)
	w.wv, w.bv = g.fill(width*width, 0.45), g.fill(width, 0.1)
	w.wo, w.bo = g.fill(width*width, 0.45), g.fill(width, 0.1)
	w.ln2G, w.ln2B = g.gammas(width, 0.2), g.fill(width, 0.1)
	w.fc1, w.fc1B = g.fill(width*mlpWidth, 0.45), g.fill(mlpWidth, 0.1)
	w.fc2, w.fc2B = g.fill(mlpWidth*width, 0.3), g.fill(width, 0.1)
	w.lnPostG, w.lnPostB = g.gammas(width, 0.2), g.fill(width, 0.1)
	w.proj = g.fill(width*embedDim, 0.45)
	return w
}

// buildModel lays the weights out as an ONNX graph:
//
//	pixel_values [1,3,32,32]
//	 -> Conv(k=s=8, 16 ch, no bias) [1,16,4,4] -> Reshape [1,16,16] -> Transpose [1,16 patches,16]
//	 -> Concat(class token) [1,17,16] -> Add(position embedding) -> LayerNorm (ln_pre) = h0
//	 -> h1 = h0 + O(softmax(Q K^T / 4) V), Q/K/V/O = MatMul+Add on LayerNorm(h0)
//	 -> h2 = h1 + fc2(GELU_erf(fc1(LayerNorm(h1))))
//	 -> Gather token 0 [1,16] -> LayerNorm (ln_post) -> MatMul projection [1,8] = image_embeds
func buildModel(w *weights) model {
	var nodes []node
	add := func(op, out string, inputs []string, attrs ...attribute) string {
		nodes = append(nodes, node{name: out, opType: op, inputs: inputs, outputs: []string{out}, attrs: attrs})
		return out
	}
	in := func(names ...string) []string { return names }
	const (
		d  = int64(width)
		m  = int64(mlpWidth)
		nt = int64(numTokens)
	)
	f := func(name string, data []float32, dims ...int64) tensor {
		return tensor{name: name, dims: dims, floats: data}
	}
	inits := []tensor{
		f("embeddings.patch_embedding.weight", w.patch, d, channels, patchSize, patchSize),
		{name: "embeddings.patch_shape", dims: []int64{3}, int64s: []int64{1, d, numPatches}},
		f("embeddings.class_embedding", w.classEmb, 1, 1, d),
		f("embeddings.position_embedding", w.posEmb, 1, nt, d),
		f("pre_layrnorm.weight", w.lnPreG, d),
		f("pre_layrnorm.bias", w.lnPreB, d),
		f("layer0.layer_norm1.weight", w.ln1G, d),
		f("layer0.layer_norm1.bias", w.ln1B, d),
		f("layer0.self_attn.q_proj.weight", w.wq, d, d),
		f("layer0.self_attn.q_proj.bias", w.bq, d),
		f("layer0.self_attn.k_proj.weight", w.wk, d, d),
		f("layer0.self_attn.k_proj.bias", w.bk, d),
		f("layer0.self_attn.v_proj.weight", w.wv, d, d),
		f("layer0.self_attn.v_proj.bias", w.bv, d),
		f("layer0.self_attn.scale", []float32{attnScale}),
		f("layer0.self_attn.out_proj.weight", w.wo, d, d),
		f("layer0.self_attn.out_proj.bias", w.bo, d),
		f("layer0.layer_norm2.weight", w.ln2G, d),
		f("layer0.layer_norm2.bias", w.ln2B, d),
		f("layer0.mlp.fc1.weight", w.fc1, d, m),
		f("layer0.mlp.fc1.bias", w.fc1B, m),
		f("gelu.sqrt2", []float32{sqrt2}),
		f("gelu.one", []float32{1}),
		f("gelu.half", []float32{0.5}),
		f("layer0.mlp.fc2.weight", w.fc2, m, d),
		f("layer0.mlp.fc2.bias", w.fc2B, d),
		{name: "pool.index", dims: []int64{}, int64s: []int64{0}},
		f("post_layernorm.weight", w.lnPostG, d),
		f("post_layernorm.bias", w.lnPostB, d),
		f("visual_projection.weight", w.proj, d, embedDim),
	}
	ln := func(out, x, prefix string) string {
		return add("LayerNormalization", out, in(x, prefix+".weight", prefix+".bias"),
			attrInt("axis", -1), attrFloat("epsilon", lnEpsilon))
	}
	linear := func(out, x, prefix string) string {
		mm := add("MatMul", out+"_matmul", in(x, prefix+".weight"))
		return add("Add", out, in(mm, prefix+".bias"))
	}

	// Embeddings.
	x := add("Conv", "patch_embeds", in(inputName, "embeddings.patch_embedding.weight"),
		attrIntList("kernel_shape", patchSize, patchSize), attrIntList("strides", patchSize, patchSize))
	x = add("Reshape", "patch_flat", in(x, "embeddings.patch_shape"))
	x = add("Transpose", "patch_tokens", in(x), attrIntList("perm", 0, 2, 1))
	x = add("Concat", "tokens", in("embeddings.class_embedding", x), attrInt("axis", 1))
	x = add("Add", "embeddings", in(x, "embeddings.position_embedding"))
	h0 := ln("h0", x, "pre_layrnorm")

	// Self-attention (single head).
	a := ln("layer0.attn_in", h0, "layer0.layer_norm1")
	q := linear("layer0.q", a, "layer0.self_attn.q_proj")
	k := linear("layer0.k", a, "layer0.self_attn.k_proj")
	v := linear("layer0.v", a, "layer0.self_attn.v_proj")
	kt := add("Transpose", "layer0.k_t", in(k), attrIntList("perm", 0, 2, 1))
	s := add("MatMul", "layer0.scores_raw", in(q, kt))
	s = add("Mul", "layer0.scores", in(s, "layer0.self_attn.scale"))
	p := add("Softmax", "layer0.probs", in(s), attrInt("axis", -1))
	c := add("MatMul", "layer0.context", in(p, v))
	o := linear("layer0.attn_out", c, "layer0.self_attn.out_proj")
	h1 := add("Add", "h1", in(h0, o))

	// MLP with exact GELU: x * 0.5 * (1 + erf(x / sqrt2)).
	mi := ln("layer0.mlp_in", h1, "layer0.layer_norm2")
	f1 := linear("layer0.fc1", mi, "layer0.mlp.fc1")
	g := add("Div", "layer0.gelu_div", in(f1, "gelu.sqrt2"))
	g = add("Erf", "layer0.gelu_erf", in(g))
	g = add("Add", "layer0.gelu_add", in(g, "gelu.one"))
	g = add("Mul", "layer0.gelu_mul", in(f1, g))
	g = add("Mul", "layer0.gelu", in(g, "gelu.half"))
	f2 := linear("layer0.fc2", g, "layer0.mlp.fc2")
	h2 := add("Add", "h2", in(h1, f2))

	// Pool the class token, post-LN, project.
	cls := add("Gather", "pooled_raw", in(h2, "pool.index"), attrInt("axis", 1))
	pooled := ln("pooled", cls, "post_layernorm")
	add("MatMul", outputName, in(pooled, "visual_projection.weight"))

	return model{
		irVersion:       irVersion,
		producerName:    "sketchmatch-gentinyclip",
		producerVersion: "1",
		docString:       "Tiny CLIP-shaped vision encoder with seeded weights (not a real model). Generated by `go run ./tools/gentinyclip`.",
		opsetVersion:    opsetVersion,
		graph: graph{
			name:         "tinyclip_vision",
			nodes:        nodes,
			initializers: inits,
			inputs:       []valueInfo{{name: inputName, shape: []int64{1, channels, imageSize, imageSize}}},
			outputs:      []valueInfo{{name: outputName, shape: []int64{1, embedDim}}},
		},
	}
}
