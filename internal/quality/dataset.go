// Package quality measures match quality with the production pipeline:
// `sketchmatch eval` (identification accuracy of sketch → photo search over
// a set of pairs, CMC curves, score distributions), cross-calibration, and a
// perturbed copy of a set for robustness.
//
// An evaluation never reimplements the search: Run builds a real
// gallery.Service over a temporary database and reference folder, imports
// the photos with Service.Add under opaque names (the file stems, which
// give the answer away, never reach the system under test) and searches
// every sketch with Service.Search, the code path of POST /search.
package quality

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// Image is one file of an evaluation set.
type Image struct {
	// ID is the file stem: the same ID means the same person. It is kept
	// on this side of the evaluation only.
	ID   string
	Ext  string // lower-case extension with the dot, e.g. ".jpg"
	Data []byte
}

// Dataset is an evaluation set: every photo goes into the gallery, every
// sketch with a photo of the same ID is a probe; photos without a sketch
// are distractors.
type Dataset struct {
	Photos, Sketches []Image // sorted by ID
}

// imageExts are the file extensions Load reads; other files (README,
// hidden files) are ignored.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".webp": true}

// maxFileBytes bounds one file read by Load.
const maxFileBytes = 64 << 20

// Load reads the images of photosDir and sketchesDir (not recursive).
func Load(photosDir, sketchesDir string) (*Dataset, error) {
	photos, err := readDir(photosDir)
	if err != nil {
		return nil, err
	}
	sketches, err := readDir(sketchesDir)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Photos: photos, Sketches: sketches}
	if len(d.Probes()) == 0 {
		return nil, fmt.Errorf("no sketch in %s has a photo with the same file stem in %s", sketchesDir, photosDir)
	}
	return d, nil
}

func readDir(dir string) ([]Image, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Image
	seen := map[string]string{}
	for _, e := range ents {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if strings.HasPrefix(name, ".") || !imageExts[ext] || !e.Type().IsRegular() {
			continue
		}
		id := strings.TrimSuffix(name, filepath.Ext(name))
		if prev, ok := seen[id]; ok {
			return nil, fmt.Errorf("%s: %s and %s have the same stem %q; pairing by stem needs one image per person", dir, prev, name, id)
		}
		seen[id] = name
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if info.Size() > maxFileBytes {
			return nil, fmt.Errorf("%s: larger than %d MiB", filepath.Join(dir, name), maxFileBytes>>20)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Image{ID: id, Ext: ext, Data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no images (.jpg, .jpeg, .png, .webp)", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Probes returns the indexes into Sketches of sketches that have a photo.
func (d *Dataset) Probes() []int {
	has := make(map[string]bool, len(d.Photos))
	for _, p := range d.Photos {
		has[p.ID] = true
	}
	var out []int
	for i, s := range d.Sketches {
		if has[s.ID] {
			out = append(out, i)
		}
	}
	return out
}

// Unmatched returns the IDs of sketches without a photo (not scored).
func (d *Dataset) Unmatched() []string {
	has := make(map[string]bool, len(d.Photos))
	for _, p := range d.Photos {
		has[p.ID] = true
	}
	var out []string
	for _, s := range d.Sketches {
		if !has[s.ID] {
			out = append(out, s.ID)
		}
	}
	return out
}

// Prefix returns the subset of an ID of the form "prefix-rest" ("" when
// the ID has no dash).
func Prefix(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return ""
}

// Folds assigns each probe (index into Sketches) to one of k folds,
// stratified by prefix: within each prefix, probes sorted by ID are dealt
// out in turn, so every fold holds about the same share of every subset.
// The assignment depends on the IDs only, never on images or scores.
func (d *Dataset) Folds(k int) map[int]int {
	byPrefix := map[string][]int{}
	for _, i := range d.Probes() {
		p := Prefix(d.Sketches[i].ID)
		byPrefix[p] = append(byPrefix[p], i)
	}
	out := map[int]int{}
	for _, idx := range byPrefix {
		for n, i := range idx { // already in ID order
			out[i] = n % k
		}
	}
	return out
}

// NewDataset builds a set from images already in memory (an upload),
// checking that no ID occurs twice in either list.
func NewDataset(photos, sketches []Image) (*Dataset, error) {
	for _, set := range []struct {
		kind string
		l    []Image
	}{{"photo", photos}, {"sketch", sketches}} {
		seen := map[string]bool{}
		for _, im := range set.l {
			if im.ID == "" {
				return nil, fmt.Errorf("a %s has an empty file name", set.kind)
			}
			if seen[im.ID] {
				return nil, fmt.Errorf("two %ss are named %q; pairing by file name needs one image per person", set.kind, im.ID)
			}
			seen[im.ID] = true
		}
	}
	d := &Dataset{Photos: append([]Image(nil), photos...), Sketches: append([]Image(nil), sketches...)}
	sort.Slice(d.Photos, func(i, j int) bool { return d.Photos[i].ID < d.Photos[j].ID })
	sort.Slice(d.Sketches, func(i, j int) bool { return d.Sketches[i].ID < d.Sketches[j].ID })
	return d, nil
}

// ImageFromName makes an Image of an uploaded file: the ID is the base
// name without extension (names are data only, never paths).
func ImageFromName(name string, data []byte) Image {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	ext := filepath.Ext(name)
	return Image{ID: strings.TrimSuffix(name, ext), Ext: strings.ToLower(ext), Data: data}
}

// CalibrationPairs returns the set's pairs (the photo and the sketch of
// each probe) for gallery.Service.Calibrate, and a SHA-256 digest of
// their bytes that identifies the set in the calibration's provenance.
func (d *Dataset) CalibrationPairs() ([]gallery.CalibrationPair, string) {
	photoOf := map[string]Image{}
	for _, p := range d.Photos {
		photoOf[p.ID] = p
	}
	h := sha256.New()
	var pairs []gallery.CalibrationPair
	for _, i := range d.Probes() {
		sk := d.Sketches[i]
		ph := photoOf[sk.ID]
		ps, ss := sha256.Sum256(ph.Data), sha256.Sum256(sk.Data)
		h.Write(ps[:])
		h.Write(ss[:])
		pairs = append(pairs, gallery.CalibrationPair{
			Photo:  gallery.Upload{Name: ph.ID + ph.Ext, Data: ph.Data},
			Sketch: gallery.Upload{Name: sk.ID + sk.Ext, Data: sk.Data},
		})
	}
	return pairs, hex.EncodeToString(h.Sum(nil))
}
