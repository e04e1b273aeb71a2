package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

const importBatch = 16

// import [--label-from-filename] [--subject-from-folder] [--metadata
// FILE.csv] PATH...: files and folders (recursive). With
// --subject-from-folder each sub-folder of a PATH is one person, its name
// the record number; photos of one person share a subject. Idempotent (content hash) and safe to interrupt: each
// file is committed whole (with its metadata) or not at all, and files a
// crash leaves behind are swept at the next start. A metadata CSV is
// validated whole before anything is imported.
func cmdImport(e *env, args []string) int {
	fs := newFlags(e, "import", "import [--label-from-filename] [--subject-from-folder] [--metadata FILE.csv] PATH...")
	labelFromName := fs.Bool("label-from-filename", false, "use each file's name without extension as its label")
	subjectFromFolder := fs.Bool("subject-from-folder", false, "each sub-folder of PATH is one person, named after the folder (a record number); "+
		"files directly in PATH are each their own person")
	metaPath := fs.String("metadata", "", "CSV with columns "+strings.Join(gallery.MetadataColumns, ",")+
		" describing the photos (rows matched by file name); checked whole first: one bad row and nothing is imported")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	files, err := collect(fs.Args())
	if err != nil {
		return e.fail(err)
	}
	var subjectOf map[string]string
	if *subjectFromFolder {
		if subjectOf, err = folderSubjects(fs.Args(), files); err != nil {
			return e.fail(err)
		}
	}
	if len(files) == 0 {
		fmt.Fprintln(e.stderr, "sketchmatch: no files found")
		return 1
	}
	var meta *importMetadata
	if *metaPath != "" {
		if meta, err = loadImportMetadata(*metaPath, files); err != nil {
			fmt.Fprintf(e.stderr, "sketchmatch: %s: %v\n", *metaPath, err)
			return 1
		}
	}
	a, code := e.open(ctx, true, false)
	if a == nil {
		return code
	}
	defer a.Close()
	if a.Encoder == nil {
		fmt.Fprintf(e.stderr, "warning: the model is not loaded (%v); photos are stored and will be embedded by `sketchmatch reindex`\n", a.EncoderErr)
	}
	la := localActor()
	who := gallery.Actor{Username: la.Username, ClientIP: la.ClientIP}

	var bar *progressbar.ProgressBar
	tty := isTerminal(e.stderr)
	if tty {
		bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	counts := map[string]int{}
	var rejected, noFace, review []string
	start := time.Now()
	done := 0
	people := map[int64]bool{} // the persons the added photos went to
	for i := 0; i < len(files) && ctx.Err() == nil; i += importBatch {
		batch := files[i:min(i+importBatch, len(files))]
		ups := make([]gallery.Upload, 0, len(batch))
		var readErrs []gallery.Result
		for _, p := range batch {
			data, err := readLimited(p, a.Config.MaxUploadSize)
			if err != nil {
				readErrs = append(readErrs, gallery.Result{Name: p, Outcome: gallery.Rejected, Reason: err.Error()})
				continue
			}
			u := gallery.Upload{Name: filepath.Base(p), Data: data}
			if *labelFromName {
				u.Label = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
			}
			u.Subject = subjectOf[p]
			meta.describe(&u)
			ups = append(ups, u)
		}
		results := append(readErrs, a.Gallery.Add(ctx, who, ups)...)
		for i := range results {
			r := &results[i]
			if err := meta.apply(ctx, a.Gallery, who, r); err != nil {
				r.Outcome, r.Reason = gallery.Rejected, "metadata not applied: "+apperr.Message(err)
			}
			counts[r.Outcome]++
			if r.Outcome == gallery.Rejected {
				rejected = append(rejected, fmt.Sprintf("%s: %s", r.Name, r.Reason))
			}
			if r.Outcome == gallery.Added {
				if r.Reference != nil && r.Reference.SubjectID != 0 {
					people[r.Reference.SubjectID] = true
				}
				for _, fl := range r.Flags {
					switch {
					case fl.Code == gallery.FlagNoFace:
						noFace = append(noFace, fmt.Sprintf("%s (reference #%d)", r.Name, r.Reference.ID))
					case fl.Code != gallery.FlagManual:
						review = append(review, fmt.Sprintf("%s (reference #%d): %s", r.Name, r.Reference.ID, fl.Text))
					}
				}
			}
			if !tty {
				fmt.Fprintf(e.stderr, "%-9s %s%s\n", r.Outcome, r.Name, reasonSuffix(*r))
			}
		}
		done += len(batch)
		if bar != nil {
			bar.Set(done)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	el := time.Since(start)
	fmt.Fprintf(e.stdout, "import: %d files in %s (%.1f/s): %d added (%d %s), %d duplicates, %d rejected\n",
		done, el.Round(time.Millisecond), float64(done)/el.Seconds(), counts[gallery.Added], len(people), plural(len(people), "person", "people"),
		counts[gallery.Duplicate], counts[gallery.Rejected])
	for _, r := range rejected {
		fmt.Fprintf(e.stdout, "  rejected %s\n", r)
	}
	if len(noFace) > 0 {
		fmt.Fprintf(e.stdout, "%d without a face: not searchable (stored; an admin can mark the face on the reference page or delete them)\n", len(noFace))
		for _, n := range noFace {
			fmt.Fprintf(e.stdout, "  no face  %s\n", n)
		}
	}
	if len(review) > 0 {
		fmt.Fprintf(e.stdout, "%d flagged for review (searchable):\n", len(review))
		for _, n := range review {
			fmt.Fprintf(e.stdout, "  review   %s\n", n)
		}
	}
	unmatched := meta.report(e.stdout)
	if ctx.Err() != nil {
		fmt.Fprintf(e.stdout, "interrupted after %d of %d files; run the same command again to continue (already imported files are skipped)\n", done, len(files))
		return 1
	}
	if counts[gallery.Rejected] > 0 || unmatched > 0 {
		return 1
	}
	return 0
}

// folderSubjects maps each file under a folder argument to the name of the
// first-level sub-folder it is in (the person's record number); files
// directly in the folder, or given as files, are absent (their own person).
func folderSubjects(args, files []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			continue
		}
		for _, f := range files {
			rel, err := filepath.Rel(a, f)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			if parts := strings.Split(filepath.ToSlash(rel), "/"); len(parts) > 1 {
				name, err := gallery.CleanSubjectName(parts[0])
				if err != nil {
					return nil, fmt.Errorf("folder %q cannot name a person: %s", parts[0], apperr.Message(err))
				}
				out[f] = name
			}
		}
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func reasonSuffix(r gallery.Result) string {
	if r.Outcome == gallery.Added && r.Reference != nil && r.Reference.SubjectName != "" && r.Reference.SubjectName != r.Reference.Label {
		suffix := fmt.Sprintf(" → person %q (#%d)", r.Reference.SubjectName, r.Reference.SubjectID)
		if r.Reference.Face != nil && !r.Searchable {
			suffix += " (no face: not searchable)"
		}
		return suffix
	}
	if r.Outcome == gallery.Added && r.Reference != nil && r.Reference.Face != nil && !r.Searchable {
		return " (no face: not searchable)"
	}
	if r.Reason == "" {
		return ""
	}
	return " (" + r.Reason + ")"
}

// collect expands folders recursively (hidden entries skipped), sorted.
func collect(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && q != p {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				out = append(out, q)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than MAX_UPLOAD_SIZE (%d bytes)", limit)
	}
	return data, nil
}
