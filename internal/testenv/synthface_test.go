package testenv

import (
	"bytes"
	"image"
	"os"
	"testing"
)

// TestSynthFaces checks that the drawings are deterministic and differ
// between people. With SKETCHMATCH_SYNTH_DIR set it also leaves a set there
// to look at.
func TestSynthFaces(t *testing.T) {
	a, b := newSynthFace(1), newSynthFace(1)
	pa, pb := synthPhoto(a).(*image.RGBA), synthPhoto(b).(*image.RGBA)
	if !bytes.Equal(pa.Pix, pb.Pix) {
		t.Fatal("same seed, different photos")
	}
	sa, sb := synthSketch(a, 1).(*image.Gray), synthSketch(b, 1).(*image.Gray)
	if !bytes.Equal(sa.Pix, sb.Pix) {
		t.Fatal("same seed, different sketches")
	}
	pc := synthPhoto(newSynthFace(2)).(*image.RGBA)
	if bytes.Equal(pa.Pix, pc.Pix) {
		t.Fatal("different seeds, same photo")
	}
	if dir := os.Getenv("SKETCHMATCH_SYNTH_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		SynthSet(t, dir, 8, SynthSeed)
		t.Logf("synthetic faces written to %s", dir)
	}
}
