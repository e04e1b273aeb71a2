// Package sectest attacks the real sketchmatch binary from the outside, the
// way issue 12's findings were found: each test starts `sketchmatch serve`
// (through internal/faulttest's harness) and asserts a bound on what the
// attack costs the process, measured by the kernel (/proc/PID/status VmHWM),
// or on what it leaves behind (log files, database rows).
package sectest

import (
	"os"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}
