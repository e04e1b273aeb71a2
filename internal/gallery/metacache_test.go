package gallery

import (
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/index"
)

// The cache is a slice by id, with a map for ids past maxDenseID; the
// filtered scan reads both, and ids it has never seen count as unknown.
func TestMetaCacheDenseAndSparse(t *testing.T) {
	s := &Service{}
	huge := int64(maxDenseID + 5)
	s.meta.set(3, domain.Metadata{Sex: SexFemale})
	s.meta.set(huge, domain.Metadata{Sex: SexFemale})
	s.meta.set(7, domain.Metadata{Sex: SexMale})
	s.meta.set(100, domain.Metadata{}) // nothing known: no growth needed
	if len(s.meta.byID) != 8 {
		t.Fatalf("dense part grew to %d, want 8", len(s.meta.byID))
	}
	if s.meta.get(huge).sex != sexCodeFemale || s.meta.get(3).sex != sexCodeFemale || s.meta.get(5) != (refMeta{}) {
		t.Fatal("lookups")
	}
	idx := index.New(2)
	for _, id := range []int64{3, 5, 7, huge, huge + 1} {
		if err := idx.Add(id, []float32{1, 0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		f    Filter
		want map[int64]bool
	}{
		{Filter{Sex: SexFemale}, map[int64]bool{3: true, huge: true}},
		{Filter{Sex: SexFemale, IncludeUnknown: true}, map[int64]bool{3: true, 5: true, huge: true, huge + 1: true}},
	} {
		sf := s.newScanFilter(&tc.f)
		hits := sf.search(idx, []float32{1, 0}, 10)
		if len(hits) != len(tc.want) || sf.kept != len(tc.want) || sf.total != 5 {
			t.Fatalf("%s: %v (kept %d of %d)", tc.f.Describe(), hits, sf.kept, sf.total)
		}
		for _, h := range hits {
			if !tc.want[h.ID] {
				t.Fatalf("%s: %d returned", tc.f.Describe(), h.ID)
			}
		}
	}
	s.meta.drop(huge)
	s.meta.drop(3)
	if s.meta.get(huge) != (refMeta{}) || s.meta.get(3) != (refMeta{}) {
		t.Fatal("drop")
	}
}
