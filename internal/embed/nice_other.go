//go:build !linux

package embed

import "log/slog"

func setThreadNice(nice int, log *slog.Logger) {}

func onNicedThread(nice int, fn func() error) error { return fn() }
