package quality

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// palette is colour-blind safe (Okabe–Ito).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255}, {240, 228, 66, 255},
}

// PlotCMC draws the CMC curves of reports (one line each, labelled by
// Name, or Describe when Name is empty) as a PNG.
func PlotCMC(reports []*Report) ([]byte, error) {
	if len(reports) == 0 {
		return nil, errors.New("no reports to plot")
	}
	p := plot.New()
	p.Title.Text = "Sketch → photo identification (CMC)"
	p.X.Label.Text = "rank"
	p.Y.Label.Text = "share of sketches with the true photo at or above this rank"
	p.X.Min = 1
	lo, maxK := 1.0, 1
	for _, r := range reports {
		if len(r.CMC) > 0 {
			lo = min(lo, r.CMC[0])
		}
		maxK = max(maxK, len(r.CMC))
	}
	// Zoom on the part of the axis that holds the curves, in 0.05 steps.
	p.Y.Min = max(0, float64(int(lo*20-1))/20)
	p.Y.Max = 1 + (1-p.Y.Min)/50 // keep a curve at 1 off the frame
	p.X.Max = float64(maxK)
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(12)
	for i, r := range reports {
		pts := make(plotter.XYs, len(r.CMC))
		for k, v := range r.CMC {
			pts[k].X, pts[k].Y = float64(k+1), v
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("report %d: %w", i+1, err)
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.6)
		if i >= len(palette) {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		name := r.Name
		if name == "" {
			name = r.Describe()
		}
		p.Legend.Add(fmt.Sprintf("%s: rank-1 %.3f, rank-10 %.3f (n %d)", name, r.RankOne, r.RankTen, r.N), l)
	}
	p.Legend.ThumbnailWidth = vg.Points(18)
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	w, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
