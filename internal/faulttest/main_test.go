package faulttest

import (
	"github.com/sketchmatch/sketchmatch/internal/testenv"
	"os"
	"testing"
)

// TestMain deletes the binary Binary built once for all the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}
