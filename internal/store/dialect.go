package store

import (
	"strconv"
	"strings"
	"sync"
)

// Dialect is the SQL backend of a DB.
type Dialect int

const (
	// SQLite (modernc.org/sqlite): the embedded default, DATABASE_PATH.
	SQLite Dialect = iota
	// Postgres (github.com/jackc/pgx/v5 through database/sql): DATABASE_URL,
	// several instances sharing one database.
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// The store's queries are written once, in the common subset of SQLite and
// PostgreSQL, with ? placeholders (see migrations/postgres/README.md for the
// rules). The differences the text cannot hide are handled here and only
// here, on every query of a PostgreSQL DB:
//   - ? becomes $1, $2, … (outside string literals, quoted identifiers and
//     comments);
//   - a bool argument becomes 0/1: flags are INTEGER columns on both
//     backends, which SQLite's driver fills from bools and PostgreSQL does not.

var rebound sync.Map // query text -> PostgreSQL text

func (d Dialect) query(q string) string {
	if d != Postgres {
		return q
	}
	if s, ok := rebound.Load(q); ok {
		return s.(string)
	}
	s := rebind(q)
	rebound.Store(q, s)
	return s
}

func (d Dialect) args(args []any) []any {
	if d != Postgres {
		return args
	}
	copied := false
	for i, a := range args {
		if b, ok := a.(bool); ok {
			if !copied { // callers may reuse their slice
				args, copied = append([]any(nil), args...), true
			}
			args[i] = int64(0)
			if b {
				args[i] = int64(1)
			}
		}
	}
	return args
}

// rebind turns ? placeholders into $n.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
