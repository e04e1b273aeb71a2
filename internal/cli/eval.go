package cli

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/app"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/quality"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

const evalUsage = "eval --photos DIR --sketches DIR [--json FILE] [--plot FILE.png] [--calibration active|none|in-sample|2-fold] [--hog-weight W] [--perturb SEED] [--name LABEL] [--store=false]\n" +
	"       sketchmatch eval --compare A.json B.json... --plot FILE.png"

// eval: sketch → photo identification over pairs matched by file stem,
// through the production search path (see internal/quality).
func cmdEval(e *env, args []string) int {
	for _, a := range args {
		if a == "--compare" || a == "-compare" {
			return evalCompare(e, args)
		}
	}
	fs := newFlags(e, "eval", evalUsage)
	photos := fs.String("photos", "", "folder of gallery photos (all go into the gallery)")
	sketches := fs.String("sketches", "", "folder of sketches (each with a photo of the same file stem is a probe)")
	jsonOut := fs.String("json", "", "write the full report (CMC 1..50, per-probe ranks and scores, score distributions) to this file")
	plotOut := fs.String("plot", "", "write the CMC curve to this PNG file")
	calib := fs.String("calibration", string(quality.CalibrationActive),
		"active: copy this database's calibration of the model (uncentred if none); none: uncentred; in-sample: calibrate on the evaluated pairs (optimistic); 2-fold: cross-calibration, each half searched with a calibration from the other half")
	hogW := fs.String("hog-weight", "", "second-stage HOG weight (default: HOG_WEIGHT from the configuration)")
	perturb := fs.Int64("perturb", -1, "evaluate a perturbed copy of the set made in memory with this seed (shift ±15 %, scale 0.8–1.25, rotation ±10°, padded canvas); -1: off")
	name := fs.String("name", "", "label of this run in plots (default: a description of the configuration)")
	storeIt := fs.Bool("store", true, "store the report and plot in the database for the admin Quality page")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *photos == "" || *sketches == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	mode, err := quality.ParseCalibrationMode(*calib)
	if err != nil {
		fmt.Fprintf(e.stderr, "sketchmatch eval: %v\n", err)
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	w := cfg.HOGWeight
	if *hogW != "" {
		if w, err = strconv.ParseFloat(*hogW, 64); err != nil || w < 0 || w > 10 || math.IsNaN(w) {
			fmt.Fprintln(e.stderr, "sketchmatch eval: --hog-weight must be a number from 0 to 10")
			return 2
		}
	}
	ctx, stop := signalContext()
	defer stop()

	d, err := quality.Load(*photos, *sketches)
	if err != nil {
		return e.fail(err)
	}
	if un := d.Unmatched(); len(un) > 0 {
		fmt.Fprintf(e.stderr, "warning: %d sketches have no photo of the same stem and are not scored (e.g. %s)\n", len(un), un[0])
	}
	var seed *uint64
	if *perturb >= 0 {
		s := uint64(*perturb)
		seed = &s
		if d, err = d.Perturbed(s); err != nil {
			return e.fail(err)
		}
	}

	logger := slog.New(slog.NewTextHandler(quietLog{e.stderr}, nil))
	var db *store.DB
	if *storeIt || mode == quality.CalibrationActive {
		if db, err = store.Open(ctx, cfg.Database()); err != nil {
			return e.fail(fmt.Errorf("%s: %w", cfg.DatabaseSetting(), err))
		}
		defer db.Close()
	}
	enc, err := app.OpenEncoder(ctx, cfg, logger)
	if err != nil {
		return e.fail(err)
	}
	defer enc.Close()

	o := quality.Options{Encoder: enc, Limits: evalLimits(cfg.MaxUploadSize), HOGWeight: w, RerankN: cfg.RerankN,
		Calibration: mode, Name: *name, PerturbSeed: seed, Logger: logger, Progress: progressPrinter(e)}
	if mode == quality.CalibrationActive {
		c, err := db.LatestCalibration(ctx, enc.ModelID())
		switch {
		case err == nil:
			o.Active = c
			fmt.Fprintf(e.stderr, "using calibration #%d of %s (%d pairs, %s)\n", c.ID, c.ModelID, c.NPairs, c.Source)
		case domain.IsNotFound(err):
			fmt.Fprintf(e.stderr, "no calibration for %s in %s: running uncentred\n", enc.ModelID(), cfg.DatabaseSetting())
		default:
			return e.fail(err)
		}
	}
	rep, err := quality.Run(ctx, d, o)
	if o.Progress != nil {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return e.fail(err)
	}
	for _, l := range rep.Lines() {
		fmt.Fprintln(e.stdout, l)
	}
	fmt.Fprintf(e.stderr, "%s; gallery %d photos; %.1f s\n", rep.Describe(), rep.GallerySize, rep.Seconds)
	for _, c := range rep.Calibrations {
		if c.Form != "" {
			fmt.Fprintf(e.stderr, "calibration (fold %d, %d pairs): %s: %s\n", c.Fold, c.Pairs, c.Form, c.FormReason)
		}
	}
	if rep.NoFacePhotos+rep.NoFaceSketches > 0 {
		fmt.Fprintf(e.stderr, "no face detected in %d photos and %d sketches (a centred crop was used)\n", rep.NoFacePhotos, rep.NoFaceSketches)
	}
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			return e.fail(err)
		}
	}
	var png []byte
	if *plotOut != "" || *storeIt {
		if png, err = quality.PlotCMC([]*quality.Report{rep}); err != nil {
			return e.fail(err)
		}
	}
	if *plotOut != "" {
		if err := os.WriteFile(*plotOut, png, 0o644); err != nil {
			return e.fail(err)
		}
	}
	if *storeIt {
		js, err := json.Marshal(rep)
		if err != nil {
			return e.fail(err)
		}
		er := &domain.EvalReport{ModelID: rep.ModelID, Summary: rep.Summary(), Report: string(js), PlotPNG: png}
		if err := db.InsertEvalReport(ctx, er); err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stderr, "stored as evaluation report #%d (admin Quality page)\n", er.ID)
	}
	return 0
}

// evalCompare: eval --compare A.json B.json... --plot FILE.png
func evalCompare(e *env, args []string) int {
	var files []string
	plotOut := ""
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--compare" || a == "-compare":
		case a == "--plot" || a == "-plot":
			if i+1 >= len(args) {
				fmt.Fprintf(e.stderr, "usage: sketchmatch %s\n", evalUsage)
				return 2
			}
			i++
			plotOut = args[i]
		case strings.HasPrefix(a, "--plot=") || strings.HasPrefix(a, "-plot="):
			plotOut = a[strings.IndexByte(a, '=')+1:]
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(e.stderr, "sketchmatch eval --compare: unknown option %s\nusage: sketchmatch %s\n", a, evalUsage)
			return 2
		default:
			files = append(files, a)
		}
	}
	if len(files) == 0 || plotOut == "" {
		fmt.Fprintf(e.stderr, "usage: sketchmatch %s\n", evalUsage)
		return 2
	}
	var reps []*quality.Report
	for _, f := range files {
		r, err := quality.ReadJSON(f)
		if err != nil {
			return e.fail(err)
		}
		if r.Name == "" {
			r.Name = strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		}
		reps = append(reps, r)
		fmt.Fprintf(e.stdout, "%s: %s (%s)\n", r.Name, r.Summary(), r.Describe())
	}
	png, err := quality.PlotCMC(reps)
	if err != nil {
		return e.fail(err)
	}
	if err := os.WriteFile(plotOut, png, 0o644); err != nil {
		return e.fail(err)
	}
	return 0
}

// evalLimits are the server's decoding limits (internal/app).
func evalLimits(maxBytes int64) imagefile.Limits {
	return imagefile.Limits{MaxBytes: maxBytes, MaxPixels: imagefile.GalleryMaxPixels, MaxSide: 10_000}
}

// progressPrinter reports progress on one rewritten line when stderr is a
// terminal (nil otherwise).
func progressPrinter(e *env) func(stage string, done, total int) {
	if !isTerminal(e.stderr) {
		return nil
	}
	last := time.Time{}
	return func(stage string, done, total int) {
		if done == total || time.Since(last) > 500*time.Millisecond {
			last = time.Now()
			fmt.Fprintf(e.stderr, "\r%-8s %d/%d   ", stage, done, total)
		}
	}
}

// calibrate --photos DIR --sketches DIR [--photos DIR --sketches DIR ...] | --list FILE [--source TEXT] [--if-missing]
func cmdCalibrate(e *env, args []string) int {
	const usage = "calibrate (--photos DIR --sketches DIR)... | --list FILE [--source TEXT] [--if-missing]"
	fs := newFlags(e, "calibrate", usage)
	var photos, sketches dirList
	fs.Var(&photos, "photos", "folder of calibration photos (repeat with --sketches for several folder pairs)")
	fs.Var(&sketches, "sketches", "folder of calibration sketches, paired with the photos of the --photos at the same position by file stem")
	list := fs.String("list", "", "file of folder pairs, one per line: PHOTOS_DIR SKETCHES_DIR (tab or spaces; relative to the file; # comments)")
	source := fs.String("source", "", "where the set comes from, recorded with the calibration (default: the folders and a digest of the files)")
	ifMissing := fs.Bool("if-missing", false, "do nothing when the active model already has a calibration with score bands for the configured HOG weight (for setup scripts)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	folders, err := calibrationFolders(photos, sketches, *list)
	if err != nil {
		fmt.Fprintf(e.stderr, "calibrate: %v\n", err)
		fs.Usage()
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	a, code := e.open(ctx, true, true)
	if a == nil {
		return code
	}
	defer a.Close()
	if cur := a.Gallery.Calibration(); *ifMissing && cur.Active && cur.Bands != nil {
		fmt.Fprintf(e.stdout, "calibration %s of %s is in use; nothing to do (--if-missing)\n", cur.Text, a.Encoder.ModelID())
		return 0
	}
	req := quality.CalibrateRequest{
		Source:        *source,
		DefaultSource: func(digests []string) string { return describeSources(folders, digests) },
		Embedding: func(n int) {
			fmt.Fprintf(e.stderr, "embedding %d pairs from %d folder pair(s) with %s...\n", n, len(folders), a.Encoder.ModelID())
		},
	}
	for _, f := range folders {
		d, err := quality.Load(f[0], f[1])
		if err != nil {
			return e.fail(err)
		}
		req.Sets = append(req.Sets, d)
		req.SetNames = append(req.SetNames, f[1])
	}
	la := localActor()
	out, err := quality.Calibrate(ctx, a.Gallery, gallery.Actor{Username: la.Username, ClientIP: la.ClientIP}, req)
	if out == nil {
		return e.fail(err)
	}
	for _, l := range out.Lines {
		fmt.Fprintln(e.stdout, l)
	}
	if err != nil {
		return e.fail(err)
	}
	return 0
}

// dirList is a repeatable folder flag.
type dirList []string

func (d *dirList) String() string { return strings.Join(*d, ",") }

func (d *dirList) Set(v string) error {
	if v == "" {
		return errors.New("empty folder")
	}
	*d = append(*d, v)
	return nil
}

// calibrationFolders pairs the repeated --photos and --sketches folders by
// position, or reads the pairs from a list file (not both).
func calibrationFolders(photos, sketches []string, list string) ([][2]string, error) {
	var out [][2]string
	switch {
	case list != "" && (len(photos) > 0 || len(sketches) > 0):
		return nil, errors.New("give either --list or --photos/--sketches, not both")
	case list != "":
		b, err := os.ReadFile(list)
		if err != nil {
			return nil, err
		}
		base := filepath.Dir(list)
		for n, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Fields(line)
			if len(f) != 2 {
				return nil, fmt.Errorf("%s line %d: want PHOTOS_DIR SKETCHES_DIR, got %q", list, n+1, line)
			}
			for i := range f {
				if !filepath.IsAbs(f[i]) {
					f[i] = filepath.Join(base, f[i])
				}
			}
			out = append(out, [2]string{f[0], f[1]})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s names no folder pair", list)
		}
	case len(photos) == 0 || len(photos) != len(sketches):
		return nil, fmt.Errorf("give --photos and --sketches the same number of times (got %d and %d)", len(photos), len(sketches))
	default:
		for i := range photos {
			out = append(out, [2]string{photos[i], sketches[i]})
		}
	}
	seen := map[[2]string]bool{}
	for _, f := range out {
		if seen[f] {
			return nil, fmt.Errorf("the folder pair %s, %s is given twice", f[0], f[1])
		}
		seen[f] = true
	}
	return out, nil
}

// describeSources is describeSource over several folder pairs (one digest
// over all of them).
func describeSources(folders [][2]string, digests []string) string {
	if len(folders) == 1 {
		return describeSource(folders[0][0], folders[0][1], digests[0])
	}
	h := sha256.Sum256([]byte(strings.Join(digests, ",")))
	s := fmt.Sprintf("%d folder pairs, set sha256 %x", len(folders), h[:8])
	// The last two path elements: folder pairs are often …/set/photos.
	short := func(p string) string {
		p = filepath.Clean(p)
		return filepath.Join(filepath.Base(filepath.Dir(p)), filepath.Base(p))
	}
	for _, f := range folders {
		s += "; " + short(f[0]) + " + " + short(f[1])
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

func describeSource(photos, sketches, digest string) string {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	s := fmt.Sprintf("set sha256 %s; photos %s; sketches %s", digest[:16], abs(photos), abs(sketches))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
