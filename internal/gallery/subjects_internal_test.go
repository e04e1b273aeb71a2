package gallery

import (
	"reflect"
	"testing"
)

func TestSubjectMap(t *testing.T) {
	var m subjectMap
	m.set(1, 10)
	m.set(2, 10)
	m.set(3, 20)
	m.set(2, 20) // moved
	m.set(3, 20) // unchanged
	if got := m.photosOf(map[int64]bool{10: true}); !reflect.DeepEqual(got, map[int64]bool{1: true}) {
		t.Fatalf("subject 10: %v", got)
	}
	if got := m.photosOf(map[int64]bool{20: true}); !reflect.DeepEqual(got, map[int64]bool{2: true, 3: true}) {
		t.Fatalf("subject 20: %v", got)
	}
	m.drop(1)
	if got := m.photosOf(map[int64]bool{10: true}); len(got) != 0 || m.of(1) != 0 {
		t.Fatalf("after drop: %v %d", got, m.of(1))
	}
	if _, ok := m.bySubject[10]; ok {
		t.Fatal("an empty subject keeps a list")
	}
}

func TestGroupPeople(t *testing.T) {
	subject := map[int64]int64{1: 100, 2: 200, 3: 100, 4: 0}
	cands := []Candidate{{ReferenceID: 1, Score: .9}, {ReferenceID: 2, Score: .8}, {ReferenceID: 3, Score: .7}, {ReferenceID: 4, Score: .6}}
	of := func(id int64) int64 { return subject[id] }
	got := groupPeople(cands, of, 0)
	if len(got) != 3 || got[0].SubjectID != 100 || !reflect.DeepEqual(got[0].ReferenceIDs, []int64{1, 3}) || got[0].Score != .9 ||
		got[2].SubjectID != 0 || !reflect.DeepEqual(got[2].ReferenceIDs, []int64{4}) {
		t.Fatalf("best only: %+v", got)
	}
	// With an equal share of the second photo, person 100 (0.9, 0.7 →
	// 0.8) ties person 200 (0.8 alone) and stays first (stable order).
	got = groupPeople(cands, of, 1)
	if got[0].SubjectID != 100 || got[0].Score != 0.8 || got[1].SubjectID != 200 {
		t.Fatalf("alpha 1: %+v", got)
	}
}
