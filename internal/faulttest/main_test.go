package faulttest

import (
	"os"
	"testing"
)

// TestMain deletes the binary Binary built once for all the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBinary()
	os.Exit(code)
}
