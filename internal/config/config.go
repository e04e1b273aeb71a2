// Package config loads SketchMatch's configuration from the environment and an
// optional .env file (godotenv), applies defaults and validates every value.
// Errors always name the variable at fault.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
)

// Config is the typed, validated configuration of every command.
type Config struct {
	AppEnv    string // development | production
	SecretKey []byte // >= 32 bytes; random per process in development when unset
	// SecretKeyGenerated is true when SecretKey was generated for this process
	// (development only): sessions will not survive a restart.
	SecretKeyGenerated bool

	Host string
	Port int

	DatabasePath string
	// DatabaseURL (postgres://…) selects PostgreSQL instead of the SQLite
	// file DatabasePath: several instances share it. "" = SQLite.
	DatabaseURL string
	// DatabaseMaxConns is the PostgreSQL connection pool size of one
	// instance (DEPLOYMENT.md: N instances × this ≤ max_connections).
	DatabaseMaxConns int
	ReferenceFolder  string
	MaxUploadSize    int64
	// SketchMaxPixels is the pixel limit of a search sketch, checked on the
	// header before decoding; lower than the gallery's 40 MP because any
	// officer can search, and a sketch needs far fewer pixels than that.
	SketchMaxPixels int

	ModelsDir            string
	Model                string
	ORTLibraryPath       string
	ORTExecutionProvider string // cpu | cuda
	ORTCUDAFallback      string // "" | cpu
	InferenceWorkers     int
	InferenceQueue       int
	IntraOpThreads       int
	// InferenceNice lowers the priority of inference threads (0..19) so
	// pages stay fast while searches use the CPU time left over.
	InferenceNice int

	// Second-stage re-ranking with a hand-crafted descriptor (HOG) on the
	// aligned face crop; HOGWeight 0 turns it off.
	HOGWeight float64
	RerankN   int

	LogDir   string // "" (set but empty): JSON lines on stdout, no files
	LogLevel slog.Level

	TrustedProxies         []netip.Prefix
	MetricsAllowedNetworks []netip.Prefix
	// Pprof serves /debug/pprof/ to METRICS_ALLOWED_NETWORKS and turns on
	// the mutex and block profiles (a small cost on every contended lock):
	// for profiling under load, off in normal running.
	Pprof bool

	SessionIdleTimeout time.Duration
	SessionMaxLifetime time.Duration
	LoginMaxFailures   int
	LoginLockout       time.Duration
	LoginRateLimit     int // attempts per minute per client IP
	TokenRateLimit     int // API requests per minute per service token
	ShutdownTimeout    time.Duration
	ReadTimeout        time.Duration
	WriteTimeout       time.Duration
	SearchDefaultK     int
	SearchMaxK         int
	ReportPaper        string // "a4" or "letter": the case report's page size
	// DisplayTimezone is the zone pages and reports show times in (the
	// audit trail and logs stay in UTC).
	DisplayTimezone *time.Location
	// RetentionSearchDays: searches (sketches, results) older than this are
	// purged daily, except those on legal hold; 0 keeps them forever.
	RetentionSearchDays int
}

// GalleryMaxPixels is the pixel limit of a reference photo.
const GalleryMaxPixels = imagefile.GalleryMaxPixels

// DecodeBudgetPixels is the process-wide bound on pixels decoded at once
// (imagefile.SetDecodeBudget): one sketch per inference worker plus one
// being prepared, and never less than one gallery photo at its limit. At
// ~8 bytes per pixel while decoding, the default on 2 cores (1 worker,
// 40 MP) bounds decoding to ~320 MB whatever the number of requests.
func (c *Config) DecodeBudgetPixels() int64 {
	return max(int64(GalleryMaxPixels), int64(c.InferenceWorkers+1)*int64(c.SketchMaxPixels))
}

// Production reports whether APP_ENV is production.
func (c *Config) Production() bool { return c.AppEnv == "production" }

// Addr is the listen address.
func (c *Config) Addr() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }

// ModelDir is the folder of the active model preset.
func (c *Config) ModelDir() string { return filepath.Join(c.ModelsDir, c.Model) }

// Database is what store.Open opens: DATABASE_URL when set, else the
// SQLite file DATABASE_PATH.
func (c *Config) Database() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return c.DatabasePath
}

// DatabaseSetting names the setting Database comes from, for messages
// ("DATABASE_PATH data/x.db"; a URL's password is never shown).
func (c *Config) DatabaseSetting() string {
	if c.DatabaseURL != "" {
		return "DATABASE_URL " + redactURL(c.DatabaseURL)
	}
	return "DATABASE_PATH " + c.DatabasePath
}

// Postgres reports whether DATABASE_URL selects PostgreSQL.
func (c *Config) Postgres() bool { return c.DatabaseURL != "" }

func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if name, _, ok := strings.Cut(userinfo, ":"); ok {
		return scheme + "://" + name + ":xxxxx@" + host
	}
	return u
}

// Load reads envFile (if it exists; "" skips it) into the process environment
// without overriding variables already set, then parses the environment.
func Load(envFile string) (*Config, error) {
	if envFile != "" {
		if _, err := os.Stat(envFile); err == nil {
			if err := godotenv.Load(envFile); err != nil {
				return nil, fmt.Errorf("reading %s: %w", envFile, err)
			}
		}
	}
	return FromLookup(os.LookupEnv)
}

// FromLookup parses configuration from lookup (os.LookupEnv in production,
// a map in tests). All problems are reported together.
func FromLookup(lookup func(string) (string, bool)) (*Config, error) {
	p := &parser{lookup: lookup}
	c := &Config{
		AppEnv:                 p.enum("APP_ENV", "development", "development", "production"),
		Host:                   p.str("HOST", "127.0.0.1"),
		Port:                   p.intRange("PORT", 8000, 1, 65535),
		DatabasePath:           p.str("DATABASE_PATH", "data/sketchmatch.db"),
		DatabaseURL:            p.postgresURL("DATABASE_URL"),
		DatabaseMaxConns:       p.intRange("DATABASE_MAX_CONNS", 16, 2, 1000),
		ReferenceFolder:        p.str("REFERENCE_FOLDER", "reference_database"),
		MaxUploadSize:          p.size("MAX_UPLOAD_SIZE", 16<<20),
		SketchMaxPixels:        p.intRange("SKETCH_MAX_PIXELS", 12_000_000, 100_000, GalleryMaxPixels),
		ModelsDir:              p.str("MODELS_DIR", "models"),
		Model:                  p.str("MODEL", "faceplugin-arcface"),
		ORTLibraryPath:         p.str("ORT_LIBRARY_PATH", "lib/libonnxruntime.so.1"),
		ORTExecutionProvider:   p.enum("ORT_EXECUTION_PROVIDER", "cpu", "cpu", "cuda"),
		ORTCUDAFallback:        p.enum("ORT_CUDA_FALLBACK", "", "", "cpu"),
		InferenceWorkers:       p.intRange("INFERENCE_WORKERS", defaultWorkers(), 1, 256),
		InferenceQueue:         p.intRange("INFERENCE_QUEUE", 16, 0, 10000),
		IntraOpThreads:         p.intRange("INTRA_OP_THREADS", 0, 0, 256),
		InferenceNice:          p.intRange("INFERENCE_NICE", 10, 0, 19),
		HOGWeight:              p.floatRange("HOG_WEIGHT", 1.5, 0, 10),
		RerankN:                p.intRange("RERANK_N", 200, 1, 10000),
		LogDir:                 p.strOrEmpty("LOG_DIR", "logs"),
		LogLevel:               p.level("LOG_LEVEL", slog.LevelInfo),
		TrustedProxies:         p.cidrs("TRUSTED_PROXIES", ""),
		MetricsAllowedNetworks: p.cidrs("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128"),
		Pprof:                  p.enum("PPROF", "off", "off", "on") == "on",
		SessionIdleTimeout:     p.duration("SESSION_IDLE_TIMEOUT", 30*time.Minute),
		SessionMaxLifetime:     p.duration("SESSION_MAX_LIFETIME", 12*time.Hour),
		LoginMaxFailures:       p.intRange("LOGIN_MAX_FAILURES", 5, 1, 1000),
		LoginLockout:           p.duration("LOGIN_LOCKOUT", 15*time.Minute),
		LoginRateLimit:         p.intRange("LOGIN_RATE_LIMIT", 10, 1, 100000),
		TokenRateLimit:         p.intRange("TOKEN_RATE_LIMIT", 120, 1, 1000000),
		ShutdownTimeout:        p.duration("SHUTDOWN_TIMEOUT", 8*time.Second),
		ReadTimeout:            p.duration("READ_TIMEOUT", 60*time.Second),
		WriteTimeout:           p.duration("WRITE_TIMEOUT", 120*time.Second),
		SearchDefaultK:         p.intRange("SEARCH_DEFAULT_K", 20, 1, 200),
		ReportPaper:            p.enum("REPORT_PAPER", "a4", "a4", "letter"),
		DisplayTimezone:        p.location("DISPLAY_TIMEZONE", time.UTC),
		SearchMaxK:             p.intRange("SEARCH_MAX_K", 200, 1, 1000),
		RetentionSearchDays:    p.intRange("RETENTION_SEARCH_DAYS", 365, 0, 36500),
	}
	if c.IntraOpThreads == 0 {
		c.IntraOpThreads = defaultIntraOp(c.InferenceWorkers)
	}

	secret, _ := lookup("SECRET_KEY")
	switch {
	case len(secret) >= 32 && c.Production() && SecretBits(secret) < MinSecretBits:
		p.errs = append(p.errs, fmt.Errorf("SECRET_KEY is too predictable (a repeated or patterned value: about %.0f bits of entropy estimated, need at least %d when APP_ENV=production); generate one with: openssl rand -hex 32",
			SecretBits(secret), MinSecretBits))
	case len(secret) >= 32:
		c.SecretKey = []byte(secret)
	case c.Production() && secret == "":
		p.errs = append(p.errs, errors.New("SECRET_KEY is required when APP_ENV=production (at least 32 bytes; generate one with: openssl rand -hex 32)"))
	case c.Production():
		p.errs = append(p.errs, fmt.Errorf("SECRET_KEY is too short: %d bytes, need at least 32 when APP_ENV=production", len(secret)))
	default:
		if secret != "" {
			p.errs = append(p.errs, fmt.Errorf("SECRET_KEY is too short: %d bytes, need at least 32 (unset it in development to use a random per-process key)", len(secret)))
		}
		c.SecretKey = make([]byte, 32)
		if _, err := rand.Read(c.SecretKey); err != nil {
			p.errs = append(p.errs, fmt.Errorf("SECRET_KEY: generating a random key: %w", err))
		}
		c.SecretKeyGenerated = true
	}

	if err := c.validate(); err != nil {
		p.errs = append(p.errs, err)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// validate checks rules that involve more than one variable.
func (c *Config) validate() error {
	var errs []error
	if c.SearchDefaultK > c.SearchMaxK {
		errs = append(errs, fmt.Errorf("SEARCH_DEFAULT_K (%d) must not exceed SEARCH_MAX_K (%d)", c.SearchDefaultK, c.SearchMaxK))
	}
	if c.SessionIdleTimeout > c.SessionMaxLifetime {
		errs = append(errs, fmt.Errorf("SESSION_IDLE_TIMEOUT (%s) must not exceed SESSION_MAX_LIFETIME (%s)", c.SessionIdleTimeout, c.SessionMaxLifetime))
	}
	if c.ShutdownTimeout >= 10*time.Second {
		errs = append(errs, fmt.Errorf("SHUTDOWN_TIMEOUT (%s) must stay below supervisor's stopwaitsecs (10s)", c.ShutdownTimeout))
	}
	if c.Model == "" || strings.ContainsAny(c.Model, `/\`) || c.Model == "." || c.Model == ".." {
		errs = append(errs, fmt.Errorf("MODEL %q must be a plain folder name under MODELS_DIR", c.Model))
	}
	if c.ORTCUDAFallback != "" && c.ORTExecutionProvider != "cuda" {
		errs = append(errs, errors.New("ORT_CUDA_FALLBACK is only meaningful with ORT_EXECUTION_PROVIDER=cuda"))
	}
	return errors.Join(errs...)
}

func defaultWorkers() int {
	n := numCPU() / 2
	if n < 1 {
		n = 1
	}
	return n
}

func defaultIntraOp(workers int) int {
	n := numCPU() / workers
	if n < 1 {
		n = 1
	}
	return n
}

type parser struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (p *parser) get(key string) (string, bool) {
	v, ok := p.lookup(key)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (p *parser) fail(key, v, want string) {
	p.errs = append(p.errs, fmt.Errorf("%s=%q is invalid: %s", key, v, want))
}

func (p *parser) str(key, def string) string {
	if v, ok := p.get(key); ok {
		return v
	}
	return def
}

// postgresURL reads a postgres:// (or postgresql://) URL; "" when unset.
func (p *parser) postgresURL(key string) string {
	v, ok := p.get(key)
	if !ok {
		return ""
	}
	if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
		p.fail(key, redactURL(v), "must be a postgres://user@host/dbname URL (DATABASE_PATH is the SQLite file)")
		return ""
	}
	return v
}

func (p *parser) location(key string, def *time.Location) *time.Location {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	loc, err := time.LoadLocation(v)
	if err != nil || v == "" || v == "Local" {
		p.fail(key, v, "want an IANA time zone name such as UTC or Europe/London")
		return def
	}
	return loc
}

func (p *parser) enum(key, def string, allowed ...string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	v = strings.ToLower(v)
	for _, a := range allowed {
		if v == a && a != "" {
			return v
		}
	}
	var shown []string
	for _, a := range allowed {
		if a != "" {
			shown = append(shown, a)
		}
	}
	p.fail(key, v, "want one of "+strings.Join(shown, ", "))
	return def
}

func (p *parser) intRange(key string, def, lo, hi int) int {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(key, v, fmt.Sprintf("want an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

func (p *parser) floatRange(key string, def, lo, hi float64) float64 {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi {
		p.fail(key, v, fmt.Sprintf("want a number from %g to %g", lo, hi))
		return def
	}
	return f
}

// size accepts plain bytes or a K/M/G (binary) suffix: 16777216, 16M, 512K.
func (p *parser) size(key string, def int64) int64 {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	mult := int64(1)
	s := strings.ToUpper(v)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (4<<30)/mult {
		p.fail(key, v, "want a positive size in bytes (suffix K, M or G allowed), at most 4G")
		return def
	}
	return n * mult
}

func (p *parser) duration(key string, def time.Duration) time.Duration {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(key, v, "want a positive Go duration such as 30s, 15m or 12h")
		return def
	}
	return d
}

func (p *parser) level(key string, def slog.Level) slog.Level {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.fail(key, v, "want debug, info, warn or error")
		return def
	}
	return l
}

func (p *parser) cidrs(key, def string) []netip.Prefix {
	v, ok := p.get(key)
	if !ok {
		v = def
	}
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			if a, err := netip.ParseAddr(part); err == nil {
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
		}
		pr, err := netip.ParsePrefix(part)
		if err != nil {
			p.fail(key, part, "want a comma-separated list of CIDRs such as 127.0.0.1/32,10.0.0.0/8")
			continue
		}
		out = append(out, pr.Masked())
	}
	return out
}
