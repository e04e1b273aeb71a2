package testenv

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"testing"
)

// NonFaces are synthetic images without a face, as PNG files: what a
// careless or hostile upload looks like (a colour gradient, lines of
// "text", a landscape drawn in code).
func NonFaces(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	g := image.NewRGBA(image.Rect(0, 0, 300, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			g.Set(x, y, color.RGBA{uint8(x * 255 / 300), uint8(y * 255 / 300), 128, 255})
		}
	}
	out["gradient.png"] = encodePNG(tb, g)
	g2 := image.NewRGBA(image.Rect(0, 0, 240, 320))
	for y := 0; y < 320; y++ {
		for x := 0; x < 240; x++ {
			g2.Set(x, y, color.RGBA{200, uint8(255 - y*200/320), uint8(x * 255 / 240), 255})
		}
	}
	out["gradient2.png"] = encodePNG(tb, g2)
	txt := image.NewRGBA(image.Rect(0, 0, 320, 240))
	draw.Draw(txt, txt.Rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	for line := 0; line < 8; line++ {
		for word := 0; word < 6; word++ {
			x0, y0 := 20+word*48, 20+line*26
			draw.Draw(txt, image.Rect(x0, y0, x0+20+(word*7+line*3)%18, y0+10), image.NewUniform(color.Black), image.Point{}, draw.Src)
		}
	}
	out["text.png"] = encodePNG(tb, txt)
	ls := image.NewRGBA(image.Rect(0, 0, 400, 260))
	for y := 0; y < 260; y++ {
		for x := 0; x < 400; x++ {
			hill := 150 + 30*math.Sin(float64(x)/40)
			c := color.RGBA{120, 170, 235, 255}
			switch {
			case math.Hypot(float64(x-310), float64(y-60)) < 25:
				c = color.RGBA{250, 220, 90, 255}
			case float64(y) > hill:
				c = color.RGBA{60, uint8(110 + y%40), 50, 255}
			}
			ls.Set(x, y, c)
		}
	}
	out["landscape.png"] = encodePNG(tb, ls)
	return out
}

// TwoFaces is a JPEG of two dev photos side by side (needs ../shared).
func TwoFaces(tb testing.TB) []byte {
	tb.Helper()
	pairs := DevPairs(tb)
	two := image.NewRGBA(image.Rect(0, 0, 440, 250))
	draw.Draw(two, two.Rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	for i, p := range []string{pairs[0].Photo, pairs[1].Photo} {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		draw.Draw(two, image.Rect(i*240, 0, i*240+200, 250), img, img.Bounds().Min, draw.Src)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, two, &jpeg.Options{Quality: 92}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
