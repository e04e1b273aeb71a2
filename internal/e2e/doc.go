// Package e2e holds the real-browser tests: they build the sketchmatch
// binary, start `sketchmatch serve` on a loopback port with a fresh database,
// and drive headless Chromium through the journeys an admin and an officer
// take (see journey_test.go). The tests skip, saying why, when Chromium, the
// ONNX Runtime library, the model preset or ../shared are missing.
//
// The package has no non-test code; this file only gives it a name and a
// description.
package e2e
