package embed

/*
#include <xmmintrin.h>

// 0x8040 = FTZ (bit 15) | DAZ (bit 6) of MXCSR.
static unsigned int sm_fp_set_daz(int on) {
	unsigned int old = _mm_getcsr();
	if (on) {
		_mm_setcsr(old | 0x8040u);
	} else {
		_mm_setcsr(old & ~0x8040u);
	}
	return old;
}

static void sm_fp_restore(unsigned int v) { _mm_setcsr(v); }
*/
import "C"

// setDenormalsAreZero switches flush-to-zero and denormals-are-zero on (or
// off) for the calling OS thread and returns the previous state for
// restoreFPMode. The caller must hold runtime.LockOSThread.
func setDenormalsAreZero(on bool) uint32 {
	v := C.int(0)
	if on {
		v = 1
	}
	return uint32(C.sm_fp_set_daz(v))
}

func restoreFPMode(old uint32) { C.sm_fp_restore(C.uint(old)) }
