package gallery

import "testing"

func TestHOGCache(t *testing.T) {
	c := newHOGCache(100)
	c.put(1, make([]byte, 40))
	c.put(2, make([]byte, 40))
	got := map[int64][]byte{}
	if missing := c.lookup([]int64{1, 2, 3}, got); len(missing) != 1 || missing[0] != 3 || len(got) != 2 {
		t.Fatalf("missing=%v got=%d", missing, len(got))
	}
	c.put(3, make([]byte, 40)) // over budget: something is evicted
	if c.bytes > c.max {
		t.Fatalf("cache holds %d bytes, budget %d", c.bytes, c.max)
	}
	if _, ok := c.m[3]; !ok {
		t.Fatal("the new entry was not kept")
	}
	c.drop(3)
	if _, ok := c.m[3]; ok || c.bytes != int64(40*len(c.m)) {
		t.Fatalf("drop: %d entries, %d bytes", len(c.m), c.bytes)
	}
	c.put(4, make([]byte, 101)) // larger than the whole budget: not cached
	if _, ok := c.m[4]; ok {
		t.Fatal("an entry over the budget was cached")
	}
	off := newHOGCache(-1)
	off.put(1, []byte{1})
	if len(off.m) != 0 {
		t.Fatal("a disabled cache kept an entry")
	}
}
