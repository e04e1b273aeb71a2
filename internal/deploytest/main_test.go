package deploytest

import (
	"os"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"
)

// TestMain stops the PostgreSQL clusters the tests started, if any.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
