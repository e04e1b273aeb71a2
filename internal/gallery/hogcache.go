package gallery

import "sync"

// hogCache keeps the float16 HOG descriptors the re-ranker has read, up to a
// byte budget, so a search does not read its top-N descriptors (about 12 KB
// each) from SQLite again. A reference's descriptor never changes for a
// given model, so entries never go stale; deleted references are dropped.
// Past the budget, arbitrary entries are evicted (Go's map order).
type hogCache struct {
	mu    sync.Mutex
	m     map[int64][]byte
	bytes int64
	max   int64
}

func newHOGCache(max int64) *hogCache {
	return &hogCache{m: map[int64][]byte{}, max: max}
}

// lookup fills out with the cached descriptors of ids and returns the ids
// that are not cached.
func (c *hogCache) lookup(ids []int64, out map[int64][]byte) (missing []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if b, ok := c.m[id]; ok {
			out[id] = b
		} else {
			missing = append(missing, id)
		}
	}
	return missing
}

func (c *hogCache) put(id int64, b []byte) {
	if c.max <= 0 || int64(len(b)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[id]; ok {
		c.bytes -= int64(len(old))
	}
	for k, v := range c.m {
		if c.bytes+int64(len(b)) <= c.max {
			break
		}
		delete(c.m, k)
		c.bytes -= int64(len(v))
	}
	c.m[id] = b
	c.bytes += int64(len(b))
}

func (c *hogCache) drop(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[id]; ok {
		c.bytes -= int64(len(old))
		delete(c.m, id)
	}
}
