// Package embed turns an image (a sketch or a photo) into an L2-normalised
// vector for cosine search, with ONNX Runtime through
// github.com/yalue/onnxruntime_go.
//
// The encoder is driven by a manifest, models/<name>/model.json, that states
// every preprocessing step; nothing is guessed. Two pipelines exist:
//
//   - "face": detect the most confident face, predict 68 landmarks inside the
//     face box, reduce them to 5 points (eye centres, nose tip, mouth corners),
//     fit a least-squares similarity transform onto the ArcFace 112x112
//     template, warp (bilinear) and embed. When no face is found a centred
//     crop is embedded instead and the caller is told so (Embedding.FaceFound,
//     Embedding.Note).
//   - "whole": preprocess the whole image (squash or shortest side + centre
//     crop) and embed it, as CLIP does.
//
// Order of use: InitRuntime once per process (it loads the shared library),
// then Open per model folder. ONNX Runtime sessions are created once by Open
// and shared by a bounded pool of workers; Embed answers EUNAVAILABLE at once
// when the queue is full, so a burst of searches cannot exhaust memory.
package embed
