package imagefile

import (
	"sync"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// The decode budget bounds the pixels being decoded at once in the whole
// process. Decode takes an image's pixels from it after reading the header
// and before the decoder allocates anything, and gives them back when it
// returns, so concurrent requests cannot multiply the memory of decoding
// (a 5 KB PNG can be a 40-megapixel image: ~300 MB while it is decoded).
// An image larger than the whole budget waits until it has the budget to
// itself. Unset (the default, and in tools and tests), there is no bound.

// BudgetWait is how long Decode waits for budget before answering that the
// server is busy (EUNAVAILABLE, a 503 with Retry-After).
var BudgetWait = 20 * time.Second

var budget pixelBudget

// SetDecodeBudget sets the process-wide bound on pixels decoded at once;
// pixels ≤ 0 removes it. The server sizes it from INFERENCE_WORKERS.
func SetDecodeBudget(pixels int64) {
	budget.mu.Lock()
	defer budget.mu.Unlock()
	budget.total = pixels
	budget.broadcast()
}

// DecodeBudget returns the bound set by SetDecodeBudget (0: none).
func DecodeBudget() int64 {
	budget.mu.Lock()
	defer budget.mu.Unlock()
	return budget.total
}

type pixelBudget struct {
	mu      sync.Mutex
	total   int64
	used    int64
	peak    int64         // most pixels held at once (tests)
	changed chan struct{} // closed and replaced on every release
}

func (b *pixelBudget) broadcast() {
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
}

// acquire takes n pixels, waiting up to wait; it returns the release func.
func (b *pixelBudget) acquire(n int64, wait time.Duration) (func(), error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		if b.total <= 0 {
			b.mu.Unlock()
			return func() {}, nil
		}
		take := min(n, b.total) // an image over the budget runs alone
		if b.used+take <= b.total {
			b.used += take
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					b.mu.Lock()
					b.used -= take
					b.broadcast()
					b.mu.Unlock()
				})
			}, nil
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return nil, apperr.Errorf(apperr.EUNAVAILABLE, "The server is busy decoding other images; please try again in a moment.")
		}
	}
}
