package store

import (
	"context"
	"sync/atomic"
	"time"
)

// RateCounter is a fixed-window request counter kept in the database, so
// that a limit per key (the per-IP login limit) holds across every instance
// behind the load balancer. It implements httprate.LimitCounter (structurally:
// the store does not import httprate). PostgreSQL only
// (migrations/postgres/1002_rate_counts.sql); on SQLite one process serves,
// and httprate's in-memory counter does.
type RateCounter struct {
	db     *DB
	scope  string // prefix of the keys, one per limit
	window time.Duration
	calls  atomic.Int64
}

// NewRateCounter returns a counter for one limit, named by scope.
func NewRateCounter(db *DB, scope string) *RateCounter {
	return &RateCounter{db: db, scope: scope, window: time.Minute}
}

// SharedRateCounter returns a RateCounter for scope when the database is
// shared by several instances (PostgreSQL), and nil on SQLite, where one
// process serves and an in-memory counter is the right one.
func (db *DB) SharedRateCounter(scope string) *RateCounter {
	if db.Dialect != Postgres {
		return nil
	}
	return NewRateCounter(db, scope)
}

// Config is called by httprate with the limit and its window.
func (c *RateCounter) Config(requestLimit int, windowLength time.Duration) { c.window = windowLength }

// Increment counts one request of key in the window starting at currentWindow.
func (c *RateCounter) Increment(key string, currentWindow time.Time) error {
	return c.IncrementBy(key, currentWindow, 1)
}

// IncrementBy counts amount requests.
func (c *RateCounter) IncrementBy(key string, currentWindow time.Time, amount int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.db.ExecContext(ctx, `INSERT INTO rate_counts (key, window_start, count) VALUES (?, ?, ?)
		ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counts.count + excluded.count`,
		c.scope+":"+key, currentWindow.Unix(), amount)
	if err != nil {
		return err
	}
	// Now and then, forget windows older than the two httprate reads.
	if c.calls.Add(1)%100 == 1 {
		c.db.ExecContext(ctx, `DELETE FROM rate_counts WHERE window_start < ?`, currentWindow.Add(-2*c.window).Unix())
	}
	return nil
}

// Get returns the counts of key in the current and the previous window.
func (c *RateCounter) Get(key string, currentWindow, previousWindow time.Time) (int, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var cur, prev int
	err := c.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN window_start = ? THEN count ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN window_start = ? THEN count ELSE 0 END), 0)
		FROM rate_counts WHERE key = ? AND window_start IN (?, ?)`,
		currentWindow.Unix(), previousWindow.Unix(), c.scope+":"+key, currentWindow.Unix(), previousWindow.Unix()).Scan(&cur, &prev)
	return cur, prev, err
}
