package web

import (
	"errors"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
)

type homeData struct {
	DefaultK, MaxK int
	CaseNumber     string
	// NoFace: the last sketch had no detectable face; the form offers to
	// mark the face or to search without one.
	NoFace      bool
	Filter      gallery.FilterInput // witness filter as typed, kept when the search is refused
	Stats       gallery.Stats
	Calibration gallery.CalibrationInfo
	ModelErr    string
}

// GET / — the search form.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	s.renderHome(w, r, http.StatusOK, "", "", false, gallery.FilterInput{})
}

func (s *Server) renderHome(w http.ResponseWriter, r *http.Request, status int, errMsg, caseNo string, noFace bool, filter gallery.FilterInput) {
	st, err := s.gallery.Stats(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := homeData{DefaultK: s.cfg.SearchDefaultK, MaxK: s.cfg.SearchMaxK, CaseNumber: caseNo, NoFace: noFace, Filter: filter, Stats: st, Calibration: s.gallery.Calibration()}
	if _, err := s.gallery.ModelStatus(); err != nil {
		d.ModelErr = err.Error()
	}
	s.render(w, r, status, "search", page{Title: "Search", Nav: "search", Error: errMsg, Data: d})
}

// readUpload reads one multipart file field, bounded by MAX_UPLOAD_SIZE
// (the body itself is capped by http.MaxBytesReader in the handler).
func readFile(fh *multipart.FileHeader, limit int64) ([]byte, error) {
	if fh.Size > limit {
		return nil, apperr.Errorf(apperr.ETOOLARGE, "%s is larger than the %s limit.", fh.Filename, humanBytes(limit))
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// parseMultipart caps the body and parses the form; an oversize body is 413.
func (s *Server) parseMultipart(w http.ResponseWriter, r *http.Request) error {
	// A little headroom over MAX_UPLOAD_SIZE for the multipart framing and
	// the text fields.
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadSize+64<<10)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apperr.Errorf(apperr.ETOOLARGE, "The upload is larger than the %s limit.", humanBytes(s.cfg.MaxUploadSize))
		}
		return apperr.Errorf(apperr.EINVALID, "The upload could not be read as a form with files.")
	}
	return nil
}

func (s *Server) parseSearch(w http.ResponseWriter, r *http.Request) (gallery.Query, error) {
	var q gallery.Query
	if err := s.parseMultipart(w, r); err != nil {
		return q, err
	}
	defer r.MultipartForm.RemoveAll()
	q.CaseNumber = r.FormValue("case_number")
	box, err := parseBox(r.FormValue("face_box"))
	if err != nil {
		return q, err
	}
	q.FaceBox = box
	switch v := r.FormValue("allow_no_face"); v {
	case "", "0", "false":
	case "1", "on", "true":
		q.AllowNoFace = true
	default:
		return q, apperr.Errorf(apperr.EINVALID, "allow_no_face must be true or false.")
	}
	q.K = s.cfg.SearchDefaultK
	if v := strings.TrimSpace(r.FormValue("k")); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > s.cfg.SearchMaxK {
			return q, apperr.Errorf(apperr.EINVALID, "The number of candidates must be a whole number from 1 to %d.", s.cfg.SearchMaxK)
		}
		q.K = k
	}
	f, err := gallery.ParseFilter(filterInput(r), s.now())
	if err != nil {
		return q, err
	}
	q.Filter = f
	fhs := r.MultipartForm.File["sketch"]
	if len(fhs) != 1 {
		return q, apperr.Errorf(apperr.EINVALID, "Choose one sketch image to search with.")
	}
	data, err := readFile(fhs[0], s.cfg.MaxUploadSize)
	if err != nil {
		return q, err
	}
	// The sketch's own pixel limit, from its header, before anything is
	// decoded (the gallery decodes under the photos' higher limit).
	if _, err := imagefile.Probe(data, imagefile.Limits{MaxBytes: s.cfg.MaxUploadSize,
		MaxPixels: s.cfg.SketchMaxPixels, MaxSide: 10_000}); err != nil {
		return q, err
	}
	q.Sketch = data
	return q, nil
}

// filterInput reads the witness-filter fields of the search form and API
// (sex, min_age, max_age, age_at, tags, include_unknown).
func filterInput(r *http.Request) gallery.FilterInput {
	return gallery.FilterInput{Sex: r.FormValue("sex"), MinAge: r.FormValue("min_age"), MaxAge: r.FormValue("max_age"),
		At: r.FormValue("age_at"), Tags: r.FormValue("tags"), IncludeUnknown: r.FormValue("include_unknown")}
}

// clipFilter bounds typed filter values shown back in the form.
func clipFilter(in gallery.FilterInput) gallery.FilterInput {
	return gallery.FilterInput{Sex: clip(in.Sex, 20), MinAge: clip(in.MinAge, 10), MaxAge: clip(in.MaxAge, 10),
		At: clip(in.At, 20), Tags: clip(in.Tags, 1000), IncludeUnknown: clip(in.IncludeUnknown, 10)}
}

func galleryActor(r *http.Request) gallery.Actor {
	a := actor(r)
	u := userFrom(r.Context())
	return gallery.Actor{UserID: a.UserID, Username: a.Username, ClientIP: a.ClientIP, Admin: u != nil && u.Role == auth.RoleAdmin}
}

// POST /search → redirect to the recorded result (so reload does not
// search again).
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseSearch(w, r)
	if err == nil {
		var out *gallery.Outcome
		out, err = s.gallery.Search(r.Context(), galleryActor(r), q)
		if err == nil {
			to := "/searches/" + strconv.FormatInt(out.Search.ID, 10)
			if r.Header.Get("X-Sketch-Fetch") == "1" {
				// The page's script submitted in the background: it
				// navigates itself, so the result is rendered once.
				w.Header().Set("X-Sketch-Location", to)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
	}
	switch st := statusOf(err); {
	case errors.Is(err, gallery.ErrNoFace):
		// Nothing was recorded. The page's script reads this header and
		// offers the box tool on the sketch it still holds.
		w.Header().Set("X-Sketch-No-Face", "1")
		s.renderHome(w, r, http.StatusUnprocessableEntity, apperr.Message(err), clip(r.FormValue("case_number"), 64), true, clipFilter(filterInput(r)))
	case st == http.StatusBadRequest || st == http.StatusRequestEntityTooLarge:
		// The form again, with the message beside it (not a bare error
		// page that loses what was typed).
		s.renderHome(w, r, st, apperr.Message(err), clip(r.FormValue("case_number"), 64), false, clipFilter(filterInput(r)))
	default:
		s.fail(w, r, err)
	}
}

type resultView struct {
	Search      *domain.Search
	Candidates  []candidateView
	Calibration string
	Bands       *gallery.Bands
	AnyAbove    bool
	IsOwner     bool
	Filter      *gallery.AppliedFilter // nil: unfiltered
	// The review (issue 16): CanReview shows the mark and close forms (the
	// officer who searched, while the search is open); Unreviewed lists
	// only candidates without a mark; Counts are the marks so far.
	CanReview  bool
	Unreviewed bool
	Counts     domain.ReviewCount
	Pending    int // candidates not reviewed yet
	Marks      []string
	Shown      int // candidates listed after the unreviewed filter
}

type candidateView struct {
	domain.SearchResult
	BandText string
	Deleted  bool
	// FirstLow: the first candidate in the low band (the page draws a
	// divider above it instead of repeating the same box on each).
	FirstLow bool
	Meta     string // the reference's witness metadata now, "" when none is known
	// Name is the person's name or record number (the photo's label for a
	// row without a subject); Others are the person's other photos,
	// best first, those still in the gallery.
	Name   string
	Others []int64
	Review *domain.Review // nil: not reviewed
}

// metaLine is a reference's witness metadata in a few words.
func metaLine(m domain.Metadata) string {
	var parts []string
	if m.Sex == gallery.SexFemale || m.Sex == gallery.SexMale {
		parts = append(parts, m.Sex)
	}
	if m.BirthYear != 0 {
		parts = append(parts, "born "+strconv.Itoa(m.BirthYear))
	}
	if len(m.Tags) > 0 {
		parts = append(parts, strings.Join(m.Tags, ", "))
	}
	return strings.Join(parts, " · ")
}

// bandText is the sentence beside a recorded candidate: how often a
// different person scores this high in a gallery of the size searched, or
// why no band can be given.
func bandText(sr *domain.Search, b *gallery.Bands, score float64) string {
	if sr.FaceSource == domain.FaceNone {
		return gallery.NoBandText
	}
	if b == nil {
		return ""
	}
	return b.Describe(score, sr.GallerySize)
}

// canSee: officers see their own searches, admins everyone's.
func canSee(u *auth.User, sr *domain.Search) bool {
	return u != nil && (u.Role == auth.RoleAdmin || sr.UserID == u.ID)
}

// loadSearch fetches a search the user may see; others get 404 (not 403,
// so ids of other officers' searches are not confirmed).
func (s *Server) loadSearch(w http.ResponseWriter, r *http.Request) (*domain.Search, bool) {
	id, ok := s.idParam(w, r)
	if !ok {
		return nil, false
	}
	sr, err := s.db.SearchByID(r.Context(), id)
	if err != nil || !canSee(userFrom(r.Context()), sr) {
		if err != nil && !domain.IsNotFound(err) {
			s.fail(w, r, err)
			return nil, false
		}
		if err == nil {
			s.log.Warn("search access denied", "user", userFrom(r.Context()).Username, "search", id, "ip", clientIPFrom(r.Context()))
		}
		s.renderError(w, r, http.StatusNotFound, "")
		return nil, false
	}
	return sr, true
}

func (s *Server) resultView(r *http.Request, sr *domain.Search) (resultView, error) {
	u := userFrom(r.Context())
	v := resultView{Search: sr, IsOwner: u.ID == sr.UserID, Bands: s.bandsOf(sr), Marks: gallery.Marks,
		CanReview: canReview(u, sr) && sr.ClosedAt == 0, Unreviewed: r.URL.Query().Get("unreviewed") == "1"}
	var err error
	if v.Filter, err = s.gallery.SearchFilter(r.Context(), sr.ID); err != nil {
		return v, err
	}
	if sr.CalibrationID != 0 {
		v.Calibration = "#" + strconv.FormatInt(sr.CalibrationID, 10)
	} else {
		v.Calibration = "none (uncentred)"
	}
	ids := resultRefIDs(sr)
	var all []int64
	for _, res := range sr.Results {
		all = append(all, res.ReferenceIDs...)
	}
	refs, err := s.db.ReferencesByIDs(r.Context(), all)
	if err != nil {
		return v, err
	}
	meta, err := s.db.MetadataByIDs(r.Context(), ids)
	if err != nil {
		return v, err
	}
	reviews, err := s.db.ReviewsOf(r.Context(), sr.ID)
	if err != nil {
		return v, err
	}
	seenLow := false
	for _, res := range sr.Results {
		cv := candidateView{SearchResult: res, Meta: metaLine(meta[res.ReferenceID]), Name: res.SubjectName}
		if cv.Name == "" {
			cv.Name = res.Label
		}
		_, exists := refs[res.ReferenceID]
		cv.Deleted = !exists
		for _, id := range res.ReferenceIDs {
			if _, ok := refs[id]; ok && id != res.ReferenceID {
				cv.Others = append(cv.Others, id)
			}
		}
		if rv, ok := reviews[res.SubjectID]; ok && res.SubjectID != 0 {
			cv.Review = &rv
			switch rv.Mark {
			case domain.MarkExcluded:
				v.Counts.Excluded++
			case domain.MarkPossible:
				v.Counts.Possible++
			case domain.MarkReferred:
				v.Counts.Referred++
			}
		} else {
			v.Pending++
		}
		if res.Band == gallery.BandLow && sr.FaceSource != domain.FaceNone && !seenLow {
			cv.FirstLow, seenLow = true, true
		}
		cv.BandText = bandText(sr, v.Bands, res.Score)
		if res.Band == gallery.BandHigh || res.Band == gallery.BandMid {
			v.AnyAbove = true
		}
		v.Candidates = append(v.Candidates, cv)
	}
	if v.Unreviewed {
		kept := v.Candidates[:0:0]
		for _, c := range v.Candidates {
			if c.Review == nil {
				c.FirstLow = false
				kept = append(kept, c)
			}
		}
		v.Candidates = kept
	}
	v.Shown = len(v.Candidates)
	return v, nil
}

// searchTarget names a search in the audit trail, with its case number.
func searchTarget(sr *domain.Search) string {
	t := "search:" + strconv.FormatInt(sr.ID, 10)
	if sr.CaseNumber != "" {
		t += " case:" + sr.CaseNumber
	}
	return t
}

// resultRefIDs are the best photos of a search's candidates.
func resultRefIDs(sr *domain.Search) []int64 {
	ids := make([]int64, len(sr.Results))
	for i, res := range sr.Results {
		ids[i] = res.ReferenceID
	}
	return ids
}

// resultAllRefIDs are all the photos of a search's candidates.
func resultAllRefIDs(sr *domain.Search) []int64 {
	var ids []int64
	for _, res := range sr.Results {
		ids = append(ids, res.ReferenceIDs...)
	}
	return ids
}

// GET /searches/{id} re-displays a recorded result without recomputing it.
func (s *Server) handleSearchShow(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	v, err := s.resultView(r, sr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.auditView(w, r, searchTarget(sr), "result page; references shown: "+idList(resultAllRefIDs(sr))) {
		return
	}
	flash := map[string]string{"held": "The search is on legal hold: retention will not delete it.", "released": "The legal hold is released.",
		"closed": "The review is closed.", "reopened": "The review is reopened."}[r.URL.Query().Get("done")]
	s.render(w, r, http.StatusOK, "result", page{Title: "Search #" + strconv.FormatInt(sr.ID, 10), Nav: s.searchNav(r, sr), Flash: flash, Data: v})
}

type compareView struct {
	Search    *domain.Search
	Candidate domain.SearchResult
	Ref       *domain.Reference
	Prev      int
	Next      int
	BandText  string
	// The person's photos (issue 16): Photo is the index shown (0: the
	// best-scoring one), Photos how many; PrevPhoto/NextPhoto step through
	// them (-1: none).
	Name                 string
	Photo, Photos        int
	PrevPhoto, NextPhoto int
}

// GET /searches/{id}/compare/{rank}: the sketch and one candidate side by side.
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	rank, err := strconv.Atoi(chi.URLParam(r, "rank"))
	if err != nil || rank < 1 || rank > len(sr.Results) {
		s.renderError(w, r, http.StatusNotFound, "")
		return
	}
	c := sr.Results[rank-1]
	photos := c.ReferenceIDs
	if len(photos) == 0 {
		photos = []int64{c.ReferenceID}
	}
	photo := 0
	if p := r.URL.Query().Get("photo"); p != "" {
		if photo, err = strconv.Atoi(p); err != nil || photo < 0 || photo >= len(photos) {
			s.renderError(w, r, http.StatusNotFound, "")
			return
		}
	}
	refID := photos[photo]
	ref, err := s.db.ReferenceByID(r.Context(), refID)
	if err != nil && !domain.IsNotFound(err) {
		s.fail(w, r, err)
		return
	}
	if !s.auditView(w, r, searchTarget(sr), "compare rank "+strconv.Itoa(rank)+"; reference shown: "+strconv.FormatInt(refID, 10)) {
		return
	}
	v := compareView{Search: sr, Candidate: c, Ref: ref, Name: c.SubjectName, Photo: photo, Photos: len(photos), PrevPhoto: photo - 1, NextPhoto: photo + 1}
	if v.Name == "" {
		v.Name = c.Label
	}
	if v.NextPhoto >= len(photos) {
		v.NextPhoto = -1
	}
	if ref == nil {
		// The compare page names the photo it could not show.
		v.Candidate.ReferenceID = refID
	}
	if rank > 1 {
		v.Prev = rank - 1
	}
	if rank < len(sr.Results) {
		v.Next = rank + 1
	}
	v.BandText = bandText(sr, s.bandsOf(sr), c.Score)
	s.render(w, r, http.StatusOK, "compare", page{Title: "Compare", Nav: s.searchNav(r, sr), Data: v})
}

// GET /searches/{id}/sketch — the stored sketch of a search.
func (s *Server) handleSearchSketch(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	if !s.auditView(w, r, searchTarget(sr), "sketch") {
		return
	}
	s.serveStored(w, r, sr.SketchPath, "sketch-"+strconv.FormatInt(sr.ID, 10))
}

type historyData struct {
	From, To                    string // dates as given
	Filtered                    bool
	CSVHref, PrevHref, NextHref template.URL
	Searches                    []*domain.Search
	Total                       int
	CaseNumber                  string
	Page, Pages                 int
	HasPrev, HasNext            bool
	All                         bool
	Filters                     map[int64]domain.SearchFilter // by search id, for filtered searches
	Counts                      map[int64]domain.ReviewCount  // review marks by search id
}

// GET /searches?case=...&page=N — officers see their own, admins everyone's.
func (s *Server) handleSearches(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	caseNo := clip(strings.TrimSpace(r.URL.Query().Get("case")), 64)
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if pg < 1 {
		pg = 1
	}
	var uid int64
	if u.Role != auth.RoleAdmin {
		uid = u.ID
	}
	const size = 25
	status, errMsg := http.StatusOK, ""
	from, to, err := dateRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		status, errMsg = http.StatusBadRequest, apperr.Message(err)
	}
	list, total, err := s.db.ListSearchesBetween(r.Context(), uid, caseNo, from, to, size, (pg-1)*size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := url.Values{}
	for k, v := range map[string]string{"case": caseNo, "from": r.URL.Query().Get("from"), "to": r.URL.Query().Get("to")} {
		if v != "" && errMsg == "" {
			q.Set(k, clip(v, 64))
		}
	}
	ids := make([]int64, len(list))
	for i, sr := range list {
		ids[i] = sr.ID
	}
	filters, err := s.db.SearchFilters(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	counts, err := s.db.ReviewCounts(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The list itself is not audited: it shows no face or sketch, and it
	// stays a pure read, so history works while another writer holds the
	// database (internal/faulttest TestDBLockedByLongWriter). Every search
	// opened from it is audited.
	pages := max(1, (total+size-1)/size)
	s.render(w, r, status, "history", page{Title: "History", Nav: "history", Error: errMsg, Data: historyData{
		Searches: list, Total: total, CaseNumber: caseNo, From: q.Get("from"), To: q.Get("to"), Filtered: len(q) > 0,
		Page: pg, Pages: pages, HasPrev: pg > 1, HasNext: pg < pages, All: uid == 0, Filters: filters, Counts: counts,
		CSVHref: pageLink("/searches.csv", q, 0), PrevHref: pageLink("/searches", q, pg-1), NextHref: pageLink("/searches", q, pg+1)}})
}

// dateRange reads a from/to pair of dates (YYYY-MM-DD, both inclusive) as
// unix seconds [from, to+1 day); "" leaves a side open.
func dateRange(fromS, toS string) (from, to int64, err error) {
	for _, c := range []struct {
		v   string
		dst *int64
		add int
	}{{fromS, &from, 0}, {toS, &to, 1}} {
		v := strings.TrimSpace(c.v)
		if v == "" {
			continue
		}
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			return 0, 0, apperr.Errorf(apperr.EINVALID, "Dates must be written YYYY-MM-DD.")
		}
		*c.dst = d.AddDate(0, 0, c.add).Unix()
	}
	if from > 0 && to > 0 && from >= to {
		return 0, 0, apperr.Errorf(apperr.EINVALID, "The \"from\" date must not be after the \"to\" date.")
	}
	return from, to, nil
}
