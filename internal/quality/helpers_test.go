package quality_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/config"
	"github.com/sketchmatch/sketchmatch/internal/quality"
	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// The tests below run the real model on ../shared/eval/dev. Embeddings
// are computed once per test binary (a CachedEncoder shared by every
// test); each evaluation still runs the whole production path.

var (
	devOnce  sync.Once
	dev      *quality.Dataset
	devErr   error
	pertOnce sync.Once
	pert     *quality.Dataset
	pertErr  error
	encOnce  sync.Once
	cached   *quality.CachedEncoder
)

// perturbSeed is the fixed seed of the perturbed dev set.
const perturbSeed = 1

func devSet(t testing.TB) *quality.Dataset {
	t.Helper()
	dir := filepath.Join(testenv.Shared(t), "eval", "dev")
	devOnce.Do(func() { dev, devErr = quality.Load(filepath.Join(dir, "photos"), filepath.Join(dir, "sketches")) })
	if devErr != nil {
		t.Fatal(devErr)
	}
	return dev
}

func perturbedDevSet(t testing.TB) *quality.Dataset {
	t.Helper()
	d := devSet(t)
	pertOnce.Do(func() { pert, pertErr = d.Perturbed(perturbSeed) })
	if pertErr != nil {
		t.Fatal(pertErr)
	}
	return pert
}

func encoder(t testing.TB) *quality.CachedEncoder {
	t.Helper()
	e := testenv.Encoder(t)
	encOnce.Do(func() { cached = quality.NewCachedEncoder(e) })
	return cached
}

// defaults is the shipped configuration (no environment).
func defaults(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
