// Package store is SketchMatch's storage: SQLite (modernc.org/sqlite, pure
// Go; the embedded default) or PostgreSQL (github.com/jackc/pgx/v5, for
// several instances sharing one database). Connection setup, embedded
// numbered migrations per dialect, and one file per aggregate (users.go,
// sessions.go, audit.go, references.go, searches.go, ...). Queries are
// written once; dialect.go adapts them and errors.go translates driver
// errors into the store's own error values.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// SQLite's migrations are migrations/*.sql, PostgreSQL's the same numbers
// under migrations/postgres/ (see the README there).
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// BusyTimeout is how long a statement waits for a lock held by another writer.
const BusyTimeout = 10 * time.Second

// DB wraps *sql.DB. Its methods are the only place SQL lives.
type DB struct {
	*sql.DB
	// Path is the SQLite file; "" on PostgreSQL.
	Path string
	// Dialect is the backend.
	Dialect Dialect
	// url is the PostgreSQL URL (for Listen's own connection).
	url string
	// blobLock is the instance's share of the blob store lock (blobs.go).
	blobLock sharedBlobLock
	// Now is the clock used for timestamps; tests replace it.
	Now func() time.Time

	// stmts caches prepared statements by query text: parsing SQL is the
	// largest cost of a small query with modernc's SQLite (measured: about
	// a fifth of a page view). See QueryContext.
	stmts  sync.Map // string -> *sql.Stmt
	nstmts atomic.Int32

	// ro is SQLite's read-only pool (nil on PostgreSQL): SELECTs run there
	// (see pool), so page reads do not queue for one of the few write
	// connections behind searches being recorded; WAL lets its readers run
	// alongside the one writer, each on the snapshot committed when its
	// statement starts. Its connections are query_only: a write sent there
	// by mistake fails instead of taking the write lock.
	ro      *sql.DB
	roStmts sync.Map // string -> *sql.Stmt
	roN     atomic.Int32
}

// SQLite's pool sizes: writes (and every transaction) on the main pool,
// statements that only read on the read pool. Writers serialise on
// SQLite's write lock anyway, and a waiting writer polls (busy_timeout), so
// a few connections are enough there; readers run in parallel.
const (
	sqliteWriteConns = 4
	sqliteReadConns  = 8
)

// isRead reports whether query only reads: it starts with SELECT (a WITH
// may end in INSERT/UPDATE/DELETE and stays on the write pool).
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// pool returns the pool and statement cache query runs on (SQLite).
func (db *DB) pool(query string) (*sql.DB, *sync.Map, *atomic.Int32) {
	if db.ro != nil && isRead(query) {
		return db.ro, &db.roStmts, &db.roN
	}
	return db.DB, &db.stmts, &db.nstmts
}

// maxCachedStmts bounds the statement cache (queries built with a variable
// number of placeholders are distinct texts).
const maxCachedStmts = 512

// prepared returns the cached statement for query, preparing it once.
// The statement belongs to the pool the query runs on (see pool).
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	p, stmts, n := db.pool(query)
	if s, ok := stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	if n.Load() >= maxCachedStmts {
		return nil, errNoCache
	}
	s, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	n.Add(1)
	return s, nil
}

var errNoCache = errors.New("statement cache full")

// QueryContext, QueryRowContext and ExecContext shadow *sql.DB's so that
// every query of this package runs as a cached prepared statement.
// On PostgreSQL pgx keeps its own per-connection statement cache, so the
// query goes straight to the pool after rebinding (dialect.go).
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if db.Dialect == Postgres {
		rows, err := db.DB.QueryContext(ctx, db.Dialect.query(query), db.Dialect.args(args)...)
		return rows, translate(err)
	}
	s, err := db.prepared(ctx, query)
	if err != nil {
		p, _, _ := db.pool(query)
		rows, err := p.QueryContext(ctx, query, args...)
		return rows, translate(err)
	}
	rows, err := s.QueryContext(ctx, args...)
	return rows, translate(err)
}

// QueryRowContext: see QueryContext. Scan of the row returns ErrNotFound
// when there is no row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	if db.Dialect == Postgres {
		return &Row{r: db.DB.QueryRowContext(ctx, db.Dialect.query(query), db.Dialect.args(args)...)}
	}
	s, err := db.prepared(ctx, query)
	if err != nil {
		p, _, _ := db.pool(query)
		return &Row{r: p.QueryRowContext(ctx, query, args...)}
	}
	return &Row{r: s.QueryRowContext(ctx, args...)}
}

// ExecContext: see QueryContext.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.Dialect == Postgres {
		res, err := db.DB.ExecContext(ctx, db.Dialect.query(query), db.Dialect.args(args)...)
		return res, translate(err)
	}
	s, err := db.prepared(ctx, query)
	if err != nil {
		res, err := db.DB.ExecContext(ctx, query, args...)
		return res, translate(err)
	}
	res, err := s.ExecContext(ctx, args...)
	return res, translate(err)
}

// BeginTx starts a transaction. On SQLite every transaction is BEGIN
// IMMEDIATE (the DSN's _txlock): it holds the write lock from the start, so
// read-then-write inside it is serialised. On PostgreSQL it is READ
// COMMITTED; the store takes an advisory lock where it needs the same
// (appending to the audit chain, migrations).
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, translate(err)
	}
	return &Tx{tx: tx, d: db.Dialect}, nil
}

// Close closes the cached statements and the database.
func (db *DB) Close() error {
	closeStmts := func(k, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	}
	db.stmts.Range(closeStmts)
	db.roStmts.Range(closeStmts)
	if db.ro != nil {
		db.ro.Close()
	}
	return db.DB.Close()
}

// Clock returns the time by the store's clock: Now, or time.Now when Now is
// nil. Packages that hold the store behind an interface (audit) stamp their
// rows with it, so a test that sets Now moves them too.
func (db *DB) Clock() time.Time {
	if db.Now != nil {
		return db.Now()
	}
	return time.Now()
}

// IsPostgresURL reports whether dsn names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database dsn names and applies migrations: a PostgreSQL
// URL (postgres://…, see OpenPostgres) or else a SQLite file path, created
// if needed, with WAL, busy_timeout and foreign keys on every connection.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if IsPostgresURL(dsn) {
		return OpenPostgres(ctx, dsn)
	}
	path := dsn
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating database folder: %w", err)
		}
	}
	// _pragma parameters run on every new connection of the pool.
	dsn = fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, BusyTimeout.Milliseconds())
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(sqliteWriteConns)
	sqldb.SetMaxIdleConns(sqliteWriteConns) // database/sql keeps 2 by default: the rest reconnected under load
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{DB: sqldb, Path: path, Dialect: SQLite, Now: time.Now}
	if err := db.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	// The read pool, opened after the migrations so it sees the schema. An
	// in-memory database is private to its connection: no read pool there.
	if !strings.HasPrefix(path, ":memory:") && !strings.Contains(path, "mode=memory") {
		rodsn := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=query_only(1)",
			path, BusyTimeout.Milliseconds())
		ro, err := sql.Open("sqlite", rodsn)
		if err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("opening %s for reading: %w", path, err)
		}
		ro.SetMaxOpenConns(sqliteReadConns)
		ro.SetMaxIdleConns(sqliteReadConns)
		ro.SetConnMaxIdleTime(5 * time.Minute)
		if err := ro.PingContext(ctx); err != nil {
			ro.Close()
			sqldb.Close()
			return nil, fmt.Errorf("opening %s for reading: %w", path, err)
		}
		db.ro = ro
	}
	return db, nil
}

// PostgresMaxConns is the connection pool size of a PostgreSQL DB (per
// instance: N instances open up to N × this many connections).
var PostgresMaxConns = 16

// OpenPostgres connects to the PostgreSQL database url (postgres://…; TLS
// and the rest as libpq connection parameters: sslmode, sslrootcert, …) and
// applies migrations under an advisory lock, so instances starting together
// do not race.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", RedactURL(url), err)
	}
	sqldb.SetMaxOpenConns(PostgresMaxConns)
	sqldb.SetMaxIdleConns(PostgresMaxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	sqldb.SetConnMaxLifetime(time.Hour)
	db := &DB{DB: sqldb, Dialect: Postgres, url: url, Now: time.Now}
	if err := db.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("opening %s: %w", RedactURL(url), translate(err))
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

// RedactURL returns url with its password replaced by "xxxxx", for logs
// and messages.
func RedactURL(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return url
	}
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return url
}

// Describe names the backend for `check` and the log: the SQLite path, or
// the PostgreSQL server, database and user (never the password).
func (db *DB) Describe(ctx context.Context) string {
	if db.Dialect != Postgres {
		return "sqlite " + db.Path
	}
	var version, dbname, user string
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_version'), current_database(), current_user`).Scan(&version, &dbname, &user); err != nil {
		return "postgres (unreachable: " + err.Error() + ")"
	}
	return fmt.Sprintf("postgres %s, database %s as %s", version, dbname, user)
}

// migrationLockKey is the advisory lock that serialises migrations (and
// nothing else) on PostgreSQL: an arbitrary constant ("SkMa" "migr").
const migrationLockKey = 0x536b4d61_6d696772

// migrate applies every embedded migration not yet recorded in
// schema_migrations, in name order, all in one transaction, so a failed upgrade leaves the database untouched.
//
// On PostgreSQL the transaction first takes an advisory lock (released at
// commit), so of two instances starting together one applies the
// migrations and the other then finds them applied.
func (db *DB) migrate(ctx context.Context) error {
	pattern := "migrations/*.sql"
	if db.Dialect == Postgres {
		pattern = "migrations/postgres/*.sql"
	}
	names, err := fs.Glob(migrationFS, pattern)
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer tx.Rollback()
	if db.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(migrationLockKey)); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
	}
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`
	if db.Dialect == Postgres {
		// Only when missing: PostgreSQL checks the CREATE privilege even
		// for IF NOT EXISTS, and the instances' role has none
		// (DEPLOYMENT.md: the owner role migrates, the app role only reads
		// and writes rows).
		create = `DO $$ BEGIN
			IF to_regclass('schema_migrations') IS NULL THEN
				CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
			END IF;
		END $$`
	}
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Applied versions as a set, not a maximum: migrations numbered on
	// parallel branches (0002–0004 and 0005 here) may be merged in any
	// order, and one merged later with a lower number must still run.
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := translate(rows.Err()); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if applied[v] {
			continue
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return tx.Commit()
}

// Ping checks the database answers a query (for /readyz and `check`), on
// both of SQLite's pools: a SELECT alone would only reach the read pool,
// and a broken write pool (searches and uploads cannot be recorded) must
// show as not ready too.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.DB.PingContext(ctx); err != nil {
		return translate(err)
	}
	var one int
	return db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// ErrBackupPostgres is Backup's answer on PostgreSQL: its server has the
// tools for a consistent copy.
var ErrBackupPostgres = errors.New("sketchmatch backup copies a SQLite database; on PostgreSQL use the server's tools: " +
	"pg_dump --format=custom --file=FILE \"$DATABASE_URL\" (a consistent snapshot, online; restore with pg_restore), " +
	"or continuous archiving for point-in-time recovery (DEPLOYMENT.md, \"Several instances\")")

// Backup writes a consistent online copy of the database to dst with
// VACUUM INTO. dst must not exist. On PostgreSQL it returns
// ErrBackupPostgres.
func (db *DB) Backup(ctx context.Context, dst string) error {
	if db.Dialect == Postgres {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup target %s already exists", dst)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	return nil
}
