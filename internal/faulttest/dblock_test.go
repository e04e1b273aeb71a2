package faulttest

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDBLockedByLongWriter holds SQLite's write lock from another
// connection (BEGIN IMMEDIATE, held until the request gives up) while the
// server runs. A request that must write (sign-in creates a session) waits
// up to the busy timeout (10 s) and then fails cleanly: an error page, no panic, no hang. Reads keep
// working meanwhile (WAL), and writes work again once the lock is released.
func TestDBLockedByLongWriter(t *testing.T) {
	t.Parallel() // mostly waiting on the lock
	e := NewEnv(t)
	e.AddUser(t, "officer1", "officer")
	srv := e.Start(t)
	reader := NewClient()
	Login(t, reader, srv.URL, "officer1")

	db, err := sql.Open("sqlite", "file:"+e.DBPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	lockedAt := time.Now()
	var once sync.Once
	release := func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Errorf("releasing the lock: %v", err)
			}
		})
	}
	defer release()
	// Hold the lock until the write request has given up (it must give up
	// on its own, after the 10 s busy timeout); 25 s at most.
	timer := time.AfterFunc(25*time.Second, release)
	defer timer.Stop()

	t.Run("ReadsWhileLocked", func(t *testing.T) {
		start := time.Now()
		st, body, err := Get(reader, srv.URL, "/searches")
		if err != nil || st != http.StatusOK {
			t.Errorf("GET /searches under a held write lock: %d %v\n%s", st, err, tail(body, 500))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a read took %s under a held write lock (WAL readers should not wait)", d)
		}
	})

	t.Run("WriteWaitsThenFailsCleanly", func(t *testing.T) {
		c := NewClient()
		start := time.Now()
		st, body, err := PostLogin(c, srv.URL, "officer1", Password)
		took := time.Since(start)
		t.Logf("POST /login under the lock: status %d after %s", st, took.Round(time.Millisecond))
		if err != nil {
			t.Fatalf("POST /login: %v (want a response, not a dropped connection)", err)
		}
		if time.Since(lockedAt) > 25*time.Second {
			t.Fatalf("the lock was released before the request gave up (%s): cannot judge", took)
		}
		if st != http.StatusServiceUnavailable && st != http.StatusInternalServerError {
			t.Errorf("status %d, want a clean 5xx (503 busy, or 500)\n%s", st, tail(body, 1500))
		}
		if st == http.StatusInternalServerError {
			t.Logf("note: a busy database gives 500 \"internal error\" on sign-in, not 503 \"busy, try again\"")
		}
		for _, l := range e.LogLines("request failed") {
			t.Logf("server log: request failed: %v", l["err"])
		}
		if took < 8*time.Second {
			t.Errorf("gave up after %s; want it to wait for the busy timeout (10s)", took)
		}
		text := html.UnescapeString(body)
		if !strings.Contains(text, "<html") && !strings.Contains(text, "<!DOCTYPE") && !strings.Contains(text, "<!doctype") {
			t.Errorf("want the error page, got %q", tail(text, 500))
		}
		for _, ck := range c.Jar.Cookies(mustURL(t, srv.URL)) {
			t.Errorf("a session cookie %q was set although the sign-in failed", ck.Name)
		}
	})

	release()
	t.Run("WritesWorkAfterRelease", func(t *testing.T) {
		c := NewClient()
		Login(t, c, srv.URL, "officer1")
		if st, _, err := Get(c, srv.URL, "/"); err != nil || st != http.StatusOK {
			t.Errorf("GET / after the sign-in: %d %v", st, err)
		}
	})
	if out, code := e.Run(t, "", "audit", "verify"); code != 0 {
		t.Errorf("audit verify: exit %d\n%s", code, out)
	}
	e.CheckNoPanic(t, srv)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
