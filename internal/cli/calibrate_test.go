package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCalibrationFolders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.txt", "# calibration sets\nA/photos A/sketches\n\n/abs/p\t/abs/s\n")
	for _, tc := range []struct {
		name             string
		photos, sketches []string
		list             string
		want             [][2]string
		err              string
	}{
		{"one pair", []string{"p"}, []string{"s"}, "", [][2]string{{"p", "s"}}, ""},
		{"two pairs by position", []string{"p1", "p2"}, []string{"s1", "s2"}, "", [][2]string{{"p1", "s1"}, {"p2", "s2"}}, ""},
		{"unbalanced", []string{"p1", "p2"}, []string{"s1"}, "", nil, "same number of times"},
		{"nothing", nil, nil, "", nil, "same number of times"},
		{"same pair twice", []string{"p", "p"}, []string{"s", "s"}, "", nil, "given twice"},
		{"list relative to the file", nil, nil, good, [][2]string{{filepath.Join(dir, "A/photos"), filepath.Join(dir, "A/sketches")}, {"/abs/p", "/abs/s"}}, ""},
		{"list and folders", []string{"p"}, []string{"s"}, good, nil, "not both"},
		{"bad line", nil, nil, write("bad.txt", "A/photos\n"), nil, "line 1"},
		{"empty list", nil, nil, write("empty.txt", "# nothing\n"), nil, "names no folder pair"},
		{"missing list", nil, nil, filepath.Join(dir, "nope.txt"), nil, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := calibrationFolders(tc.photos, tc.sketches, tc.list)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestCalibrateFlagsRepeat(t *testing.T) {
	var d dirList
	for _, v := range []string{"a", "b"} {
		if err := d.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if d.String() != "a,b" || d.Set("") == nil {
		t.Fatalf("dirList %v", d)
	}
}
