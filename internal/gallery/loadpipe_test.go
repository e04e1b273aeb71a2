package gallery

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestLoadPipelined(t *testing.T) {
	const dim = 3
	rows := func(n int) ([]int64, []float32) {
		ids := make([]int64, n)
		vecs := make([]float32, n*dim)
		for i := range ids {
			ids[i] = int64(i + 1)
			for j := range dim {
				vecs[i*dim+j] = float32(i*10 + j)
			}
		}
		return ids, vecs
	}
	errRead, errAdd := errors.New("read failed"), errors.New("add failed")
	cases := []struct {
		name      string
		n         int
		failRead  int // fail when reading this row (0: never)
		failAdd   int // fail on this batch (0: never)
		wantErr   error
		wantBatch int // batches added
	}{
		{"empty", 0, 0, 0, nil, 0},
		{"one row", 1, 0, 0, nil, 1},
		{"exactly one batch", loadBatch, 0, 0, nil, 1},
		{"several batches and a tail", 3*loadBatch + 7, 0, 0, nil, 4},
		{"more batches than buffers", 10 * loadBatch, 0, 0, nil, 10},
		{"read fails midway", 5 * loadBatch, 2*loadBatch + 3, 0, errRead, -1},
		{"add fails", 10 * loadBatch, 0, 2, errAdd, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids, vecs := rows(c.n)
			var gotIDs []int64
			var gotVecs []float32
			batches := 0
			err := loadPipelined(context.Background(), dim,
				func(ctx context.Context, row func(int64, []float32) error) error {
					buf := make([]float32, dim)
					for i, id := range ids {
						if c.failRead != 0 && i == c.failRead {
							return errRead
						}
						copy(buf, vecs[i*dim:])
						if err := row(id, buf); err != nil {
							return err
						}
						clear(buf) // the row's vector is only valid during the call
					}
					return nil
				},
				func(bi []int64, bv []float32) error {
					batches++
					if batches == c.failAdd {
						return errAdd
					}
					gotIDs = append(gotIDs, bi...)
					gotVecs = append(gotVecs, bv...)
					return nil
				})
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if c.wantBatch >= 0 && batches != c.wantBatch {
				t.Errorf("%d batches added, want %d", batches, c.wantBatch)
			}
			if c.wantErr == nil && (!slices.Equal(gotIDs, ids) || !slices.Equal(gotVecs, vecs)) {
				t.Errorf("rows differ: got %d ids, want %d", len(gotIDs), len(ids))
			}
		})
	}
}

func TestLoadPipelined_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := loadPipelined(ctx, 1,
		func(ctx context.Context, row func(int64, []float32) error) error {
			for i := range 10 * loadBatch {
				if err := row(int64(i), []float32{1}); err != nil {
					return err
				}
			}
			return ctx.Err()
		},
		func([]int64, []float32) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
