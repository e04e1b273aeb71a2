// Package app wires configuration, storage, services and the HTTP server
// together. cmd/sketchmatch and the end-to-end tests use the same wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/config"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/logging"
	"github.com/sketchmatch/sketchmatch/internal/store"
	"github.com/sketchmatch/sketchmatch/internal/web"
)

// App is a running set of services.
type App struct {
	Config  *config.Config
	Log     *slog.Logger
	DB      *store.DB
	Audit   *audit.Log
	Auth    *auth.Service
	Encoder *embed.Encoder // nil when the model could not be loaded
	// EncoderErr says why Encoder is nil.
	EncoderErr error
	Gallery    *gallery.Service

	logCloser io.Closer
}

// Options select what Open loads.
type Options struct {
	// WithEncoder loads ONNX Runtime and the model. A failure is not fatal
	// unless RequireEncoder is set: the server still serves everything but
	// search, and /readyz says why.
	WithEncoder    bool
	RequireEncoder bool
	// Stderr receives the human-readable log (nil: none).
	Stderr io.Writer
	// NoLogFile logs to Stderr only (CLI commands other than serve).
	NoLogFile bool
	// Stdout receives JSON lines instead of LOG_DIR/app.log and Stderr when
	// LOG_DIR is set but empty (containers: the runtime collects stdout).
	Stdout io.Writer
}

// Open builds the App from cfg.
func Open(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	dir := cfg.LogDir
	if o.NoLogFile {
		dir = ""
	}
	stderr := o.Stderr
	if stderr == nil && dir == "" {
		stderr = io.Discard
	}
	var logger *slog.Logger
	var closer io.Closer = io.NopCloser(nil)
	var err error
	if !o.NoLogFile && cfg.LogDir == "" && o.Stdout != nil {
		logger = logging.JSON(o.Stdout, cfg.LogLevel)
	} else if logger, closer, err = logging.Setup(dir, cfg.LogLevel, stderr); err != nil {
		return nil, fmt.Errorf("LOG_DIR %s: %w", cfg.LogDir, err)
	}
	a := &App{Config: cfg, Log: logger, logCloser: closer}
	if cfg.SecretKeyGenerated {
		logger.Warn("SECRET_KEY is not set: using a random per-process key (development only); sessions end when the server restarts")
	}
	imagefile.SetDecodeBudget(cfg.DecodeBudgetPixels())
	store.PostgresMaxConns = cfg.DatabaseMaxConns
	a.DB, err = store.Open(ctx, cfg.Database())
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", cfg.DatabaseSetting(), err)
	}
	a.Audit = &audit.Log{DB: a.DB}
	a.Auth = &auth.Service{DB: a.DB, Audit: a.Audit, IdleTimeout: cfg.SessionIdleTimeout, MaxLifetime: cfg.SessionMaxLifetime,
		MaxFailures: cfg.LoginMaxFailures, Lockout: cfg.LoginLockout, Logger: logger}

	if o.WithEncoder {
		a.Encoder, a.EncoderErr = OpenEncoder(ctx, cfg, logger)
		if a.EncoderErr != nil {
			if o.RequireEncoder {
				a.Close()
				return nil, a.EncoderErr
			}
			logger.Error("model not loaded: search is unavailable until this is fixed", "err", a.EncoderErr)
		}
	} else {
		a.EncoderErr = errors.New("model not loaded by this command")
	}
	if err := os.MkdirAll(cfg.ReferenceFolder, 0o750); err != nil {
		a.Close()
		return nil, fmt.Errorf("REFERENCE_FOLDER %s: %w", cfg.ReferenceFolder, err)
	}
	files := &gallery.Files{Root: cfg.ReferenceFolder}
	if a.DB.Dialect == store.Postgres {
		files.DB = a.DB // photos, thumbnails and sketches in the shared database
	}
	gopts := gallery.Options{
		DB: a.DB, Files: files, Audit: a.Audit, Logger: logger,
		Limits:    imagefile.Limits{MaxBytes: cfg.MaxUploadSize, MaxPixels: config.GalleryMaxPixels, MaxSide: 10_000},
		HOGWeight: cfg.HOGWeight, RerankN: cfg.RerankN, MaxK: cfg.SearchMaxK, EncoderErr: a.EncoderErr,
		// The index's float32 rows go next to the SQLite file (a real disk,
		// unlike a tmpfs /tmp).
		IndexDir: filepath.Dir(cfg.DatabasePath),
	}
	if a.DB.Dialect == store.Postgres {
		// No SQLite file, and photos live in the database: the local
		// REFERENCE_FOLDER (made above) holds only this instance's index file.
		gopts.IndexDir = cfg.ReferenceFolder
	}
	if a.Encoder != nil {
		gopts.Encoder = a.Encoder
	}
	a.Gallery, err = gallery.New(ctx, gopts)
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// OpenEncoder initialises ONNX Runtime and loads the configured model.
func OpenEncoder(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*embed.Encoder, error) {
	if err := embed.InitRuntime(cfg.ORTLibraryPath, cfg.ORTExecutionProvider, cfg.ORTCUDAFallback, logger); err != nil {
		return nil, err
	}
	enc, err := embed.Open(ctx, cfg.ModelDir(), embed.Options{
		Workers: cfg.InferenceWorkers, Queue: cfg.InferenceQueue, IntraOpThreads: cfg.IntraOpThreads, Nice: cfg.InferenceNice, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", cfg.ModelDir(), err)
	}
	return enc, nil
}

// Server builds the HTTP server over the App's services.
func (a *App) Server() (*web.Server, error) {
	return web.New(web.Deps{Config: a.Config, Logger: a.Log, DB: a.DB, Auth: a.Auth, Audit: a.Audit, Gallery: a.Gallery})
}

// Close releases everything Open acquired.
func (a *App) Close() {
	if a.Encoder != nil {
		a.Encoder.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
	if a.logCloser != nil {
		a.logCloser.Close()
	}
}
