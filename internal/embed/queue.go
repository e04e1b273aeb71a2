package embed

// Queue reports the admitted requests (being worked on or waiting) and how
// many the pool admits at most (workers + queue), for metrics.
func (e *Encoder) Queue() (admitted, capacity int) {
	return len(e.slots), cap(e.slots)
}
