package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// faceData is what seedFaces put in a test server: one reference photo and
// one recorded search of bob's (with its sketch file) ranking it first.
type faceData struct {
	refID, searchID int64
}

func testJPEG(t testing.TB, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 64, 80))
	for i := range img.Pix {
		img.Pix[i] = shade + uint8(i%7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seedFaces stores a reference (without a model: no embedding) and a
// search row directly, as a finished search would.
func seedFaces(t testing.TB, e *testEnv) faceData {
	t.Helper()
	ctx := context.Background()
	res := e.gal.Add(ctx, gallery.Actor{Username: "alice"}, []gallery.Upload{{Name: "p.jpg", Data: testJPEG(t, 40), Label: "person one"}})
	if len(res) != 1 || res[0].Reference == nil {
		t.Fatalf("seeding the reference: %+v", res)
	}
	sketch := testJPEG(t, 90)
	sum := sha256.Sum256(sketch)
	sha := hex.EncodeToString(sum[:])
	path := gallery.SketchPath(sha, ".jpg")
	if err := e.gal.Files().Write(path, sketch); err != nil {
		t.Fatal(err)
	}
	bob, err := e.srv.auth.GetUserByUsername(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	sr := &domain.Search{UserID: bob.ID, Username: bob.Username, CaseNumber: "C-1", SketchSHA256: sha, SketchPath: path,
		ModelID: "test", K: 1, Results: []domain.SearchResult{{Rank: 1, ReferenceID: res[0].Reference.ID, Label: "person one", Score: 0.5}}}
	if err := e.db.InsertSearch(ctx, sr, nil); err != nil {
		t.Fatal(err)
	}
	return faceData{refID: res[0].Reference.ID, searchID: sr.ID}
}
