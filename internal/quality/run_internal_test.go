package quality

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/quality/qualitytest"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// synthetic is a set of n people whose IDs are easy to find if they leak.
func synthetic(n int) *Dataset {
	d := &Dataset{}
	for i := 0; i < n; i++ {
		id := "leakcheck-" + strings.Repeat("q", i%3+1) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		d.Photos = append(d.Photos, Image{ID: id, Ext: ".png", Data: qualitytest.Photo(i)})
		d.Sketches = append(d.Sketches, Image{ID: id, Ext: ".png", Data: qualitytest.Sketch(i)})
	}
	return d
}

// The system under test never sees the set's IDs (the file stems give the
// answer away): not in any database row, not in any file name, for every
// calibration mode; and the temporary folder is removed afterwards.
func TestRunHidesIDs(t *testing.T) {
	d := synthetic(44)
	for _, mode := range []CalibrationMode{CalibrationNone, CalibrationInSample, CalibrationTwoFold} {
		t.Run(string(mode), func(t *testing.T) {
			parent := t.TempDir()
			var seen string
			rep, err := Run(context.Background(), d, Options{Encoder: qualitytest.Encoder{ID: "blocks"}, HOGWeight: 0.5, Calibration: mode, TempDir: parent,
				inspect: func(dir string, db *store.DB) {
					seen = dir
					leaks := dumpText(t, db.DB)
					filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error {
						leaks += "\n" + p
						return nil
					})
					if strings.Contains(leaks, "leakcheck") {
						t.Errorf("an ID reached the system under test:\n%s", grepLines(leaks, "leakcheck"))
					}
					var refs int
					db.QueryRow(`SELECT count(*) FROM "references" WHERE original_name GLOB '[0-9][0-9][0-9][0-9].png'`).Scan(&refs)
					if refs != len(d.Photos) {
						t.Errorf("%d references with opaque names, want %d", refs, len(d.Photos))
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if seen == "" {
				t.Fatal("inspect was not called")
			}
			if _, err := os.Stat(seen); !os.IsNotExist(err) {
				t.Fatalf("the temporary folder %s was left behind (%v)", seen, err)
			}
			if rep.N != len(d.Sketches) || len(rep.CMC) != DefaultK || rep.RankOne < 0.5 {
				t.Fatalf("report: n %d, cmc %d, rank-1 %.3f", rep.N, len(rep.CMC), rep.RankOne)
			}
			if mode == CalibrationTwoFold {
				if len(rep.Calibrations) != 2 || rep.Calibrations[0].Pairs+rep.Calibrations[1].Pairs != len(d.Sketches) {
					t.Fatalf("2-fold calibrations: %+v", rep.Calibrations)
				}
				folds := map[int]int{}
				for _, p := range rep.Probes {
					folds[p.Fold]++
				}
				if folds[1] != 22 || folds[2] != 22 {
					t.Fatalf("probes per fold: %v", folds)
				}
			}
		})
	}
}

// dumpText returns every text value of every table.
func dumpText(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var sb strings.Builder
	for _, tb := range tables {
		rs, err := db.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			rs.Scan(ptrs...)
			for _, v := range vals {
				switch x := v.(type) {
				case string:
					sb.WriteString(tb + ": " + x + "\n")
				case []byte:
					sb.WriteString(tb + ": " + string(x) + "\n")
				}
			}
		}
		rs.Close()
	}
	return sb.String()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return strings.Join(out, "\n")
}

func TestFoldsStratified(t *testing.T) {
	d := &Dataset{}
	for _, id := range []string{"a-1", "a-2", "a-3", "a-4", "b-1", "b-2", "c-1", "c-2", "c-3"} {
		d.Photos = append(d.Photos, Image{ID: id})
		d.Sketches = append(d.Sketches, Image{ID: id})
	}
	f := d.Folds(2)
	per := map[string][2]int{}
	for i, fold := range f {
		p := per[Prefix(d.Sketches[i].ID)]
		p[fold]++
		per[Prefix(d.Sketches[i].ID)] = p
	}
	for pre, c := range per {
		if c[0]-c[1] > 1 || c[1]-c[0] > 1 {
			t.Fatalf("prefix %s split %v", pre, c)
		}
	}
}
