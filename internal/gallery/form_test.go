package gallery

import (
	"strings"
	"testing"
)

// TestChooseForm: a fused or whitened form ships only when its 2-fold
// check is strictly better than every simpler form's; a whitening the
// check finds worse (or only equal) is never shipped.
func TestChooseForm(t *testing.T) {
	for _, tc := range []struct {
		name    string
		held    map[string]float64
		pairs   int
		canFuse bool
		want    string
		why     string
	}{
		{"fusion impossible", map[string]float64{FormCentre: 0.7}, 500, false, FormCentre, "only centring"},
		{"fused better, too few pairs to whiten", map[string]float64{FormCentre: 0.70, FormFused: 0.80}, 60, true, FormFused, "whitening not tried: 60 pairs"},
		{"fused only equal", map[string]float64{FormCentre: 0.90, FormFused: 0.90}, 60, true, FormCentre, "no better than centring"},
		{"whitening better", map[string]float64{FormCentre: 0.70, FormFused: 0.85, FormWhitened: 0.93}, 480, true, FormWhitened, "so it is used"},
		{"whitening worse than fused", map[string]float64{FormCentre: 0.70, FormFused: 0.85, FormWhitened: 0.80}, 480, true, FormFused, "not better than 0.850, so it is not used"},
		{"whitening equal to fused", map[string]float64{FormCentre: 0.70, FormFused: 0.85, FormWhitened: 0.85}, 480, true, FormFused, "so it is not used"},
		{"whitening worse than centring", map[string]float64{FormCentre: 1.0, FormFused: 0.97, FormWhitened: 0.99}, 200, true, FormCentre, "so it is not used"},
		{"whitening better than centring, fused worse", map[string]float64{FormCentre: 0.90, FormFused: 0.85, FormWhitened: 0.95}, 200, true, FormWhitened, "so it is used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form, why := chooseForm(tc.held, tc.pairs, tc.canFuse)
			if form != tc.want || !strings.Contains(why, tc.why) {
				t.Fatalf("chose %s (%s); want %s with a reason containing %q", form, why, tc.want, tc.why)
			}
		})
	}
}
