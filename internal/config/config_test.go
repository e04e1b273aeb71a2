package config

import (
	"strings"
	"testing"
	"time"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Port, 8000; got != want {
		t.Fatalf("Port=%d, want %d", got, want)
	}
	if got, want := c.MaxUploadSize, int64(16777216); got != want {
		t.Fatalf("MaxUploadSize=%d, want %d", got, want)
	}
	if !c.SecretKeyGenerated || len(c.SecretKey) != 32 {
		t.Fatal("development without SECRET_KEY must generate a 32-byte per-process key")
	}
	if c.SessionIdleTimeout != 30*time.Minute || c.SessionMaxLifetime != 12*time.Hour {
		t.Fatal("session timeouts")
	}
	if got, want := c.ModelDir(), "models/faceplugin-arcface"; got != want {
		t.Fatalf("ModelDir=%q, want %q", got, want)
	}
}

func TestInvalid(t *testing.T) {
	strong := "3f8a1c9e4b7d2a6f0e5c8b1d9a4f7e2c6b0d3a8f5e1c7b9d2a4f6e8c0b3d5a7f"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // the error must name this
	}{
		{"ErrProductionNoSecret", map[string]string{"APP_ENV": "production"}, "SECRET_KEY"},
		{"ErrProductionShortSecret", map[string]string{"APP_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY"},
		{"ErrDevelopmentShortSecret", map[string]string{"SECRET_KEY": "short"}, "SECRET_KEY"},
		{"ErrAppEnv", map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		{"ErrPortText", map[string]string{"PORT": "http"}, "PORT"},
		{"ErrPortRange", map[string]string{"PORT": "70000"}, "PORT"},
		{"ErrSize", map[string]string{"MAX_UPLOAD_SIZE": "-5"}, "MAX_UPLOAD_SIZE"},
		{"ErrSizeUnit", map[string]string{"MAX_UPLOAD_SIZE": "16Q"}, "MAX_UPLOAD_SIZE"},
		{"ErrDuration", map[string]string{"SESSION_IDLE_TIMEOUT": "soon"}, "SESSION_IDLE_TIMEOUT"},
		{"ErrNegativeDuration", map[string]string{"LOGIN_LOCKOUT": "-1m"}, "LOGIN_LOCKOUT"},
		{"ErrCIDR", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"},
		{"ErrMetricsCIDR", map[string]string{"METRICS_ALLOWED_NETWORKS": "localhost"}, "METRICS_ALLOWED_NETWORKS"},
		{"ErrLogLevel", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"ErrProvider", map[string]string{"ORT_EXECUTION_PROVIDER": "tpu"}, "ORT_EXECUTION_PROVIDER"},
		{"ErrFallbackWithoutCUDA", map[string]string{"ORT_CUDA_FALLBACK": "cpu"}, "ORT_CUDA_FALLBACK"},
		{"ErrModelPath", map[string]string{"MODEL": "../etc"}, "MODEL"},
		{"ErrShutdownTooLong", map[string]string{"SHUTDOWN_TIMEOUT": "15s"}, "SHUTDOWN_TIMEOUT"},
		{"ErrIdleAboveLifetime", map[string]string{"SESSION_IDLE_TIMEOUT": "13h"}, "SESSION_IDLE_TIMEOUT"},
		{"ErrHOGWeight", map[string]string{"HOG_WEIGHT": "-1"}, "HOG_WEIGHT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromLookup(lookup(tc.env))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
	t.Run("ProductionStrongSecret", func(t *testing.T) {
		c, err := FromLookup(lookup(map[string]string{"APP_ENV": "production", "SECRET_KEY": strong}))
		if err != nil {
			t.Fatal(err)
		}
		if c.SecretKeyGenerated || string(c.SecretKey) != strong || !c.Production() {
			t.Fatal("production secret not used")
		}
	})
	t.Run("Parsing", func(t *testing.T) {
		c, err := FromLookup(lookup(map[string]string{"MAX_UPLOAD_SIZE": "8M", "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "LOG_LEVEL": "debug", "PORT": "9000"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxUploadSize != 8<<20 || len(c.TrustedProxies) != 2 || c.Port != 9000 {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("AllErrorsReported", func(t *testing.T) {
		_, err := FromLookup(lookup(map[string]string{"PORT": "x", "LOG_LEVEL": "y"}))
		if err == nil || !strings.Contains(err.Error(), "PORT") || !strings.Contains(err.Error(), "LOG_LEVEL") {
			t.Fatalf("%v", err)
		}
	})
}

func TestWorkersFromCores(t *testing.T) {
	saved := numCPU
	defer func() { numCPU = saved }()
	numCPU = func() int { return 8 }
	c, err := FromLookup(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.InferenceWorkers != 4 || c.IntraOpThreads != 2 {
		t.Fatalf("workers=%d intra=%d, want 4 and 2", c.InferenceWorkers, c.IntraOpThreads)
	}
}

func TestDisplayTimezone(t *testing.T) {
	for _, c := range []struct {
		v    string
		want string
		ok   bool
	}{{"", "UTC", true}, {"Europe/London", "Europe/London", true}, {"America/New_York", "America/New_York", true}, {"Mars/Olympus", "", false}, {"Local", "", false}} {
		env := map[string]string{}
		if c.v != "" {
			env["DISPLAY_TIMEZONE"] = c.v
		}
		cfg, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if (err == nil) != c.ok {
			t.Errorf("DISPLAY_TIMEZONE=%q: err %v", c.v, err)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), "DISPLAY_TIMEZONE") {
				t.Errorf("the error does not name the variable: %v", err)
			}
			continue
		}
		if cfg.DisplayTimezone.String() != c.want {
			t.Errorf("DISPLAY_TIMEZONE=%q: %s", c.v, cfg.DisplayTimezone)
		}
	}
}
