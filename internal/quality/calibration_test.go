package quality

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// TestCalibrateRefusesTooFewPairs: the use case checks the pairing before
// it embeds anything (the service is never reached, so nil is safe here),
// counting pairs over every set and naming the rule that pairs them.
func TestCalibrateRefusesTooFewPairs(t *testing.T) {
	set := func(photos, sketches int, offset int) *Dataset {
		var ph, sk []Image
		for i := 0; i < photos; i++ {
			ph = append(ph, Image{ID: fmt.Sprintf("%04d", i+offset), Ext: ".jpg", Data: []byte{byte(i)}})
		}
		for i := 0; i < sketches; i++ {
			sk = append(sk, Image{ID: fmt.Sprintf("%04d", i+offset), Ext: ".png", Data: []byte{byte(i), 1}})
		}
		d, err := NewDataset(ph, sk)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		name string
		sets []*Dataset
		want string
	}{
		{"empty", []*Dataset{set(0, 0, 0)}, "Only 0 photo/sketch pairs"},
		{"unmatched sketches do not count", []*Dataset{set(5, 30, 0)}, "Only 5 photo/sketch pairs"},
		{"summed over sets", []*Dataset{set(10, 10, 0), set(9, 9, 100)}, "Only 19 photo/sketch pairs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			out, err := Calibrate(context.Background(), nil, gallery.Actor{Username: "t"}, CalibrateRequest{
				Sets: tc.sets, Embedding: func(int) { called = true },
			})
			if out != nil || apperr.Code(err) != apperr.EINVALID || !strings.Contains(apperr.Message(err), tc.want) ||
				!strings.Contains(apperr.Message(err), "share the file name") {
				t.Fatalf("got %v, %v; want EINVALID %q", out, err, tc.want)
			}
			if called {
				t.Fatal("embedding started for a refused request")
			}
		})
	}
}
