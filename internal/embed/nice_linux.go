package embed

import (
	"log/slog"
	"runtime"
	"syscall"
)

// setThreadNice lowers the calling OS thread's priority (Linux keeps the
// nice value per thread; threads it starts inherit it). The caller must hold
// runtime.LockOSThread. Failure only costs responsiveness, so it is logged.
func setThreadNice(nice int, log *slog.Logger) {
	if nice <= 0 {
		return
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice); err != nil && log != nil {
		log.Warn("cannot lower the inference thread priority", "nice", nice, "err", err)
	}
}

// onNicedThread runs fn on a fresh OS thread with the given nice value; the
// thread is discarded afterwards (its goroutine exits while locked), so the
// lowered priority never leaks to other goroutines.
func onNicedThread(nice int, fn func() error) error {
	if nice <= 0 {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		setThreadNice(nice, nil)
		done <- fn()
	}()
	return <-done
}
