package domain

import (
	"fmt"
	"image"
	"strconv"
	"strings"
)

// FaceRecord is the stored face-quality record of one embedding: what the
// detector found in the image (see embed.FaceQuality).
type FaceRecord struct {
	// Checked is false for embeddings made before face records existed;
	// reindex embeds them again.
	Checked       bool
	Found         bool // detected, or Manual: searchable
	Manual        bool // the box was drawn by a person
	Confidence    float64
	Box           image.Rectangle
	Faces         int
	InterocularPx float64
	Sharpness     float64
	YawDeg        float64
}

// FormatBox is the stored text form of a box ("x0,y0,x1,y1"; "" when empty).
func FormatBox(r image.Rectangle) string {
	if r.Empty() {
		return ""
	}
	return fmt.Sprintf("%d,%d,%d,%d", r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
}

// ParseBox reads FormatBox's form; "" is the empty rectangle.
func ParseBox(s string) (image.Rectangle, error) {
	if s == "" {
		return image.Rectangle{}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("box %q: want x0,y0,x1,y1", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("box %q: %v", s, err)
		}
		v[i] = n
	}
	return image.Rect(v[0], v[1], v[2], v[3]), nil
}

// FaceCounts are the gallery's references by face state for one model.
type FaceCounts struct {
	Searchable int // embedded with a face (detected or marked): in the index
	NoFace     int // embedded, no face found: stored but not searched
}
