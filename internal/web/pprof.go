package web

import (
	"net/http"
	"net/http/pprof"
	"runtime"
)

// pprofHandler serves the runtime profiles under /debug/pprof/ (PPROF=on,
// for METRICS_ALLOWED_NETWORKS only): CPU, heap, goroutines, and the mutex
// and block profiles, which it switches on (1 in 5 contended mutexes, every
// blocking event of 100 µs or more) since they are off by default.
func pprofHandler() http.Handler {
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(100_000)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
