package embed

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Execution providers accepted by InitRuntime.
const (
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda"
)

// denormalConfigKey is ONNX Runtime's session option that makes the
// session's own thread-pool threads flush denormal floats to zero.
// fr_feature.onnx carries thousands of denormal weights that make it an
// order of magnitude slower without it.
const denormalConfigKey = "session.set_denormal_as_zero"

// ErrRuntimeNotInitialised is returned by Open and VerifyModel when
// InitRuntime has not succeeded yet.
var ErrRuntimeNotInitialised = errors.New("embed: ONNX Runtime is not initialised (call embed.InitRuntime first)")

var rt struct {
	mu       sync.Mutex
	ready    bool
	libPath  string
	provider string // effective provider: cpu, or cuda when it loaded
	asked    string // provider InitRuntime was first asked for
	fallback string // "" or cpu: what to do when CUDA fails at session creation
	logger   *slog.Logger
}

// InitRuntime loads the ONNX Runtime shared library at libPath and creates
// the process-wide environment. provider is cpu or cuda; with cuda the CUDA
// execution provider is appended to every session, and when it cannot be
// loaded InitRuntime fails with a message saying what a GPU host needs,
// unless cudaFallback is "cpu", in which case it logs a warning and runs on
// the CPU. Calling it again with the same library is a no-op; ONNX Runtime
// cannot be re-initialised with another library in the same process.
func InitRuntime(libPath, provider, cudaFallback string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	switch provider {
	case "", ProviderCPU:
		provider = ProviderCPU
	case ProviderCUDA:
	default:
		return fmt.Errorf("ORT_EXECUTION_PROVIDER=%q: must be cpu or cuda", provider)
	}
	switch cudaFallback {
	case "", ProviderCPU:
	default:
		return fmt.Errorf("ORT_CUDA_FALLBACK=%q: must be empty or cpu", cudaFallback)
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.ready {
		if libPath != rt.libPath {
			return fmt.Errorf("ONNX Runtime is already initialised from %s; it cannot be re-initialised from %s in the same process", rt.libPath, libPath)
		}
		if provider != rt.asked {
			return fmt.Errorf("ONNX Runtime is already initialised for provider %s; it cannot switch to %s in the same process", rt.asked, provider)
		}
		return nil
	}

	if !ort.IsInitialized() {
		st, err := os.Stat(libPath)
		if err != nil {
			return fmt.Errorf("ONNX Runtime library %s: %w (run `make onnxruntime`, or set ORT_LIBRARY_PATH to a libonnxruntime.so of version 1.24 or newer)", libPath, err)
		}
		if st.IsDir() {
			return fmt.Errorf("ONNX Runtime library %s is a directory: ORT_LIBRARY_PATH must name the libonnxruntime.so file", libPath)
		}
		ort.SetSharedLibraryPath(libPath)
		if err := ort.InitializeEnvironment(ort.WithLogLevelWarning()); err != nil {
			return fmt.Errorf("loading ONNX Runtime from %s: %w (the library must provide C API version 24, i.e. ONNX Runtime 1.24 or newer)", libPath, err)
		}
	}

	effective := provider
	if provider == ProviderCUDA {
		if err := probeCUDA(); err != nil {
			if cudaFallback != ProviderCPU {
				return fmt.Errorf("ORT_EXECUTION_PROVIDER=cuda: %w. %s Set ORT_CUDA_FALLBACK=cpu to run on the CPU instead", err, cudaHelp(libPath))
			}
			logger.Warn("CUDA execution provider unavailable, running on the CPU (ORT_CUDA_FALLBACK=cpu)", "err", err)
			effective = ProviderCPU
		}
	}
	rt.ready = true
	rt.libPath = libPath
	rt.provider = effective
	rt.asked = provider
	rt.fallback = cudaFallback
	rt.logger = logger
	logger.Info("ONNX Runtime ready", "version", ort.GetVersion(), "library", libPath, "provider", effective)
	return nil
}

func cudaHelp(libPath string) string {
	return fmt.Sprintf("A GPU host needs a GPU build of ONNX Runtime: libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so of the same version next to %s, the CUDA runtime libraries that build was made for (libcudart, libcublas, libcublasLt, libcurand, libcufft), cuDNN, and an NVIDIA driver (libcuda.so.1).", libPath)
}

// probeCUDA checks that the CUDA provider library loads. A missing GPU can
// still make session creation fail later; newSession handles that.
func probeCUDA() error {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer opts.Destroy()
	return appendCUDA(opts)
}

func appendCUDA(opts *ort.SessionOptions) error {
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("creating CUDA provider options: %w", err)
	}
	defer co.Destroy()
	if err := opts.AppendExecutionProviderCUDA(co); err != nil {
		return fmt.Errorf("loading the CUDA execution provider: %w", err)
	}
	return nil
}

// RuntimeVersion is the version of the loaded ONNX Runtime library, or ""
// before InitRuntime.
func RuntimeVersion() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.ready {
		return ""
	}
	return ort.GetVersion()
}

func runtimeState() (ready bool, provider, fallback string, logger *slog.Logger) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.ready, rt.provider, rt.fallback, rt.logger
}

// sessionConfig says how one ONNX Runtime session is made.
type sessionConfig struct {
	intraOpThreads int
	cuda           bool
	// denormalsAreZero flushes denormal floats to zero, both in ONNX
	// Runtime's pool threads (session option) and on the Go thread that calls
	// Run (see withFPMode). Only tests turn it off.
	denormalsAreZero bool
}

func newSessionOptions(cfg sessionConfig) (*ort.SessionOptions, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			opts.Destroy()
		}
	}()
	if cfg.intraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.intraOpThreads); err != nil {
			return nil, err
		}
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	// No spinning: the pipeline runs three sessions back to back, each with
	// its own intra-op pool, and pool threads spinning after one Run steal
	// the cores the next Run needs. Measured on 2 shared cores with 2
	// intra-op threads: bulk import 12-19 images/s spinning, 34-38 not.
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, err
	}
	if cfg.denormalsAreZero {
		if err := opts.AddSessionConfigEntry(denormalConfigKey, "1"); err != nil {
			return nil, err
		}
	}
	if cfg.cuda {
		if err := appendCUDA(opts); err != nil {
			return nil, err
		}
	}
	ok = true
	return opts, nil
}

// withFPMode runs fn on one locked OS thread with flush-to-zero and
// denormals-are-zero set as asked, and restores the thread's previous mode.
//
// Why: the session option only reaches ONNX Runtime's pool threads. The
// thread that calls Run also computes (all of it with one intra-op thread),
// and ONNX Runtime sets that mode on the calling thread only once per
// process, on whichever thread created the first session. Measured with
// fr_feature.onnx and one intra-op thread: 6 ms per Run with the mode set
// here, about 80 ms without. Session creation goes through here too so that
// ONNX Runtime's one-time change does not leak into an arbitrary Go thread.
func withFPMode(daz bool, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old := setDenormalsAreZero(daz)
	defer restoreFPMode(old)
	return fn()
}
