package imagefile

import (
	"bytes"
	"image"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

func grayPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Finding 2 of issue 12: the budget is taken before decoding, so concurrent
// decodes never hold more pixels than it allows.
func TestDecodeBudget(t *testing.T) {
	data := grayPNG(t, 400, 300) // 120 000 pixels
	for _, tc := range []struct {
		name     string
		budget   int64
		workers  int
		wantPeak int64 // at most
	}{
		{"TwoAtOnce", 250_000, 8, 240_000},
		{"OneAtOnce", 120_000, 4, 120_000},
		{"LargerThanBudgetRunsAlone", 50_000, 3, 50_000},
		{"Unbounded", 0, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			SetDecodeBudget(tc.budget)
			t.Cleanup(func() { SetDecodeBudget(0); budget.mu.Lock(); budget.peak = 0; budget.mu.Unlock() })
			var wg sync.WaitGroup
			for range tc.workers {
				wg.Go(func() {
					if _, _, err := Decode(data, Limits{}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			budget.mu.Lock()
			peak, used := budget.peak, budget.used
			budget.mu.Unlock()
			if peak > tc.wantPeak {
				t.Fatalf("peak %d pixels decoding at once, want at most %d", peak, tc.wantPeak)
			}
			if used != 0 {
				t.Fatalf("%d pixels not given back", used)
			}
		})
	}
	t.Run("ErrBusyAfterWait", func(t *testing.T) {
		SetDecodeBudget(120_000)
		saved := BudgetWait
		BudgetWait = 50 * time.Millisecond
		t.Cleanup(func() { SetDecodeBudget(0); BudgetWait = saved })
		release, err := budget.acquire(120_000, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if _, _, err := Decode(data, Limits{}); apperr.Code(err) != apperr.EUNAVAILABLE {
			t.Fatalf("err=%v, want EUNAVAILABLE", err)
		}
	})
}

func TestProbe(t *testing.T) {
	data := grayPNG(t, 400, 300)
	for _, tc := range []struct {
		name     string
		data     []byte
		lim      Limits
		wantCode string
	}{
		{"OK", data, Limits{}, ""},
		{"ErrOverPixels", data, Limits{MaxPixels: 100_000}, apperr.EINVALID},
		{"ErrOverSide", data, Limits{MaxSide: 399}, apperr.EINVALID},
		{"ErrTooLarge", data, Limits{MaxBytes: 10}, apperr.ETOOLARGE},
		{"ErrNotImage", []byte("GIF89a...."), Limits{}, apperr.EUNSUPPORTED},
		{"ErrTruncatedHeader", data[:20], Limits{}, apperr.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Probe(tc.data, tc.lim)
			if got := apperr.Code(err); got != tc.wantCode {
				t.Fatalf("code=%q (%v), want %q", got, err, tc.wantCode)
			}
			if err == nil && (info.Width != 400 || info.Height != 300) {
				t.Fatalf("info=%+v", info)
			}
		})
	}
}
