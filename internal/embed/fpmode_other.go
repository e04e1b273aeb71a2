//go:build !amd64

package embed

// On other architectures the thread's floating-point mode is left alone; the
// session option session.set_denormal_as_zero still covers ONNX Runtime's own
// pool threads.
func setDenormalsAreZero(on bool) uint32 { return 0 }

func restoreFPMode(old uint32) {}
