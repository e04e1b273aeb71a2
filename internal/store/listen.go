package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// IndexChannel is the PostgreSQL notification channel on which the
// database announces changes that the instances' in-memory indexes follow
// (migrations/postgres/1003_index_notify.sql): every insert, update or
// delete of an embedding ("I|U|D:<reference id>:<model id>"), a new
// calibration ("C:0:<model id>"), a metadata write ("M:<subject id>:";
// 1004_subject_notify.sql) and a photo moved to another person
// ("S:<reference id>:").
// The triggers send them, so every writer (another instance, `import`,
// `reindex`) is covered, and only at commit.
const IndexChannel = "sketchmatch_index"

// Announces reports whether the database announces committed changes to
// every instance sharing it (PostgreSQL: notifications on IndexChannel,
// which Listen follows). On SQLite it does not: one process serves.
func (db *DB) Announces() bool { return db.Dialect == Postgres }

// Listen calls fn with the payload of every notification on channel until
// ctx ends. It keeps its own connection (outside the pool) and reconnects
// after losing it, calling resync first each time it (re)connects: what was
// announced while no one listened is lost, so the caller re-reads what it
// follows. On SQLite it returns at once (one process, nothing to follow).
func (db *DB) Listen(ctx context.Context, channel string, resync func(), fn func(payload string)) error {
	return db.ListenReporting(ctx, channel, resync, fn, nil)
}

// ListenReporting is Listen, telling onError (when not nil) why it lost
// its connection each time before it reconnects.
func (db *DB) ListenReporting(ctx context.Context, channel string, resync func(), fn func(payload string), onError func(error)) error {
	if !db.Announces() {
		return nil
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, channel, resync, fn, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			break
		}
		if onError != nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (db *DB) listenOnce(ctx context.Context, channel string, resync func(), fn func(string), connected func()) error {
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		return translate(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return translate(err)
	}
	connected()
	if resync != nil {
		resync()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return translate(err)
		}
		fn(n.Payload)
	}
}
