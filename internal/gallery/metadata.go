package gallery

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Reference metadata (issue 9 §4): what a witness can describe — sex, birth
// year, free tags — so a search can be narrowed to the references that fit
// the description (see filter.go). Validation lives here; the store keeps
// what it is given.

// Sex values.
const (
	SexFemale  = "female"
	SexMale    = "male"
	SexUnknown = "unknown"
)

// Metadata limits.
const (
	MinBirthYear = 1900
	maxTags      = 20
	maxTagLen    = 40
)

// MetadataInput is metadata as typed by a person (form fields, CSV cells).
type MetadataInput struct {
	Sex       string
	BirthYear string
	Tags      string
}

// ParseSex accepts female/male/unknown (or f/m/u, any case); "" is unknown.
func ParseSex(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "unknown", "u":
		return SexUnknown, nil
	case "female", "f":
		return SexFemale, nil
	case "male", "m":
		return SexMale, nil
	}
	return "", apperr.Errorf(apperr.EINVALID, "The sex %q is not female, male or unknown.", clipText(v, 40))
}

// ParseBirthYear accepts "" (unknown) or a year from MinBirthYear to now's.
func ParseBirthYear(v string, now time.Time) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || len(v) != 4 {
		return 0, apperr.Errorf(apperr.EINVALID, "The birth year %q is not a four-digit year.", clipText(v, 40))
	}
	if y < MinBirthYear {
		return 0, apperr.Errorf(apperr.EINVALID, "The birth year %d is before %d.", y, MinBirthYear)
	}
	if y > now.Year() {
		return 0, apperr.Errorf(apperr.EINVALID, "The birth year %d is in the future.", y)
	}
	return y, nil
}

// ParseTags splits a list of tags on commas or semicolons, lower-cases each,
// folds runs of spaces, drops duplicates and sorts. A tag is letters, digits,
// spaces and - _ . ' only (commas are the stored separator), at most
// maxTagLen characters; at most maxTags tags.
func ParseTags(v string) ([]string, error) {
	if !utf8.ValidString(v) {
		return nil, apperr.Errorf(apperr.EINVALID, "The tags are not valid text.")
	}
	var out []string
	for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
		t = strings.ToLower(strings.Join(strings.Fields(t), " "))
		if t == "" {
			continue
		}
		for _, r := range t {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(" -_.'", r)) {
				return nil, apperr.Errorf(apperr.EINVALID, "The tag %q may contain letters, digits, spaces and - _ . ' only.", clipText(t, 40))
			}
		}
		if n := utf8.RuneCountInString(t); n > maxTagLen {
			return nil, apperr.Errorf(apperr.EINVALID, "The tag %q is too long (%d characters, at most %d).", clipText(t, 40), n, maxTagLen)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, apperr.Errorf(apperr.EINVALID, "Too many tags (%d, at most %d).", len(out), maxTags)
	}
	slices.Sort(out)
	return out, nil
}

// ParseMetadata validates typed metadata; now bounds the birth year.
func ParseMetadata(in MetadataInput, now time.Time) (domain.Metadata, error) {
	var m domain.Metadata
	var err error
	if m.Sex, err = ParseSex(in.Sex); err != nil {
		return m, err
	}
	if m.BirthYear, err = ParseBirthYear(in.BirthYear, now); err != nil {
		return m, err
	}
	if m.Tags, err = ParseTags(in.Tags); err != nil {
		return m, err
	}
	return m, nil
}

// checkMetadata re-validates metadata built by code (defence in depth: the
// schema refuses a bad sex, not a bad tag).
func checkMetadata(m domain.Metadata) (domain.Metadata, error) {
	for _, t := range m.Tags {
		if one, err := ParseTags(t); err != nil {
			return m, err
		} else if len(one) != 1 {
			return m, apperr.Errorf(apperr.EINVALID, "The tag %q is not one tag.", clipText(t, 40))
		}
	}
	return ParseMetadata(MetadataInput{Sex: m.Sex, BirthYear: yearText(m.BirthYear), Tags: strings.Join(m.Tags, ",")}, time.Now())
}

func yearText(y int) string {
	if y == 0 {
		return ""
	}
	return strconv.Itoa(y)
}

// DescribeMetadata is metadata for logs and the audit trail.
func DescribeMetadata(m domain.Metadata) string {
	sex := m.Sex
	if sex == "" {
		sex = SexUnknown
	}
	year := yearText(m.BirthYear)
	if year == "" {
		year = "unknown"
	}
	return fmt.Sprintf("sex=%s birth_year=%s tags=%q", sex, year, strings.Join(m.Tags, ","))
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Metadata returns a reference's metadata (zero when it has none).
func (s *Service) Metadata(ctx context.Context, id int64) (domain.Metadata, error) {
	return s.db.MetadataByID(ctx, id)
}

// UpdateWithMetadata changes a reference's label, notes and metadata in one
// transaction with its audit row (the admin's reference form).
func (s *Service) UpdateWithMetadata(ctx context.Context, who Actor, id int64, label, notes string, m domain.Metadata) error {
	var err error
	if label, err = cleanText("The label", label, maxLabel, false); err != nil {
		return err
	}
	if notes, err = cleanText("The notes", notes, maxNotes, true); err != nil {
		return err
	}
	if m, err = checkMetadata(m); err != nil {
		return err
	}
	old, err := s.db.MetadataByID(ctx, id)
	if err != nil {
		return storageError(err)
	}
	var renamed int64
	follow, err := s.labelFollower(ctx, who, id, label, &renamed)
	if err != nil {
		return err
	}
	err = s.db.UpdateReference(ctx, id, label, notes, func(tx *store.Tx) error {
		if err := s.db.PutMetadataTx(ctx, tx, id, m); err != nil {
			return err
		}
		if err := s.audit.RecordTx(ctx, tx, audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionReferenceUpdate,
			Target: fmt.Sprintf("reference:%d", id), Outcome: audit.OutcomeSuccess,
			Details: fmt.Sprintf("label=%q %s (was %s)", label, DescribeMetadata(m), DescribeMetadata(old))}); err != nil {
			return err
		}
		return follow(tx)
	})
	if err == nil {
		s.logRenamed(who, id, renamed)
	}
	return s.afterMetadataWrite(ctx, who, id, m, old, err)
}

// SetMetadata replaces a reference's metadata, and its label when label is
// not nil, in one transaction with its audit row (`import --metadata` for
// photos already in the gallery).
func (s *Service) SetMetadata(ctx context.Context, who Actor, id int64, label *string, m domain.Metadata) error {
	var err error
	if label != nil {
		l, err := cleanText("The label", *label, maxLabel, false)
		if err != nil {
			return err
		}
		label = &l
	}
	if m, err = checkMetadata(m); err != nil {
		return err
	}
	old, err := s.db.MetadataByID(ctx, id)
	if err != nil {
		return storageError(err)
	}
	var renamed int64
	follow := func(*store.Tx) error { return nil }
	if label != nil {
		if follow, err = s.labelFollower(ctx, who, id, *label, &renamed); err != nil {
			return err
		}
	}
	err = s.db.UpdateMetadata(ctx, id, label, m, func(tx *store.Tx) error {
		details := DescribeMetadata(m) + " (was " + DescribeMetadata(old) + ")"
		if label != nil {
			details = fmt.Sprintf("label=%q ", *label) + details
		}
		if err := s.audit.RecordTx(ctx, tx, audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionReferenceUpdate,
			Target: fmt.Sprintf("reference:%d", id), Outcome: audit.OutcomeSuccess, Details: details}); err != nil {
			return err
		}
		return follow(tx)
	})
	if err == nil {
		s.logRenamed(who, id, renamed)
	}
	return s.afterMetadataWrite(ctx, who, id, m, old, err)
}

func (s *Service) afterMetadataWrite(ctx context.Context, who Actor, id int64, m, old domain.Metadata, err error) error {
	if err != nil {
		if domain.IsNotFound(err) {
			return apperr.Errorf(apperr.ENOTFOUND, "Reference #%d does not exist.", id)
		}
		return storageError(err)
	}
	// The metadata is the person's: every photo of theirs has it now.
	s.setSubjectMeta(ctx, s.subjectOf(ctx, id), id, m)
	s.ownMetadataWrite(context.WithoutCancel(ctx))
	s.log.Info("reference metadata changed", "user", who.Username, "reference", id, "metadata", DescribeMetadata(m), "was", DescribeMetadata(old))
	return nil
}

// setSubjectMeta puts m in the cache for every photo of subject (and for
// ref, which may be new to the subject map).
func (s *Service) setSubjectMeta(ctx context.Context, subject, ref int64, m domain.Metadata) {
	refs := map[int64]bool{ref: true}
	if subject != 0 {
		for id := range s.subjects.photosOf(map[int64]bool{subject: true}) {
			refs[id] = true
		}
	}
	for id := range refs {
		s.meta.set(id, m)
	}
}

// refreshMeta re-reads the metadata of photos that changed person (a move
// or a merge): they have their new person's.
func (s *Service) refreshMeta(ctx context.Context, refs []int64) {
	meta, err := s.db.MetadataByIDs(ctx, refs)
	if err != nil {
		// The next sync reloads everything; until then the filter may
		// use the photo's old person's metadata.
		s.log.Error("refreshing metadata after a change of person", "err", err)
		return
	}
	for _, id := range refs {
		s.meta.set(id, meta[id])
	}
}

// metaCache is the in-memory copy of every reference's metadata that the
// search filter reads inside the index scan (no query per search). It is
// indexed by reference id: a map lookup per scanned row cost more than
// the filter saved (see index.BenchmarkSearchFiltered). SQLite row ids are
// dense; an id past maxDenseID (never seen in practice) goes to a map.
type metaCache struct {
	mu      sync.RWMutex
	byID    []refMeta
	sparse  map[int64]refMeta
	version int64 // store.MetadataVersion at the last full load
}

// maxDenseID bounds the slice (24 bytes per id up to the largest id with
// metadata: 400 MB at most, next to a matrix of 2 KB per reference).
const maxDenseID = 1 << 24

// refMeta is one reference's metadata in scan-friendly form.
type refMeta struct {
	sex  uint8  // sexUnknown, sexFemale, sexMale
	year int16  // 0 = unknown
	tags string // ",a,b," (so a tag matches as ",tag,"), "" = none
}

const (
	sexCodeUnknown uint8 = iota
	sexCodeFemale
	sexCodeMale
)

func sexCode(s string) uint8 {
	switch s {
	case SexFemale:
		return sexCodeFemale
	case SexMale:
		return sexCodeMale
	}
	return sexCodeUnknown
}

func toRefMeta(m domain.Metadata) refMeta {
	r := refMeta{sex: sexCode(m.Sex), year: int16(m.BirthYear)}
	if len(m.Tags) > 0 {
		r.tags = "," + strings.Join(m.Tags, ",") + ","
	}
	return r
}

// get is the metadata of id; the caller holds mu (read).
func (c *metaCache) get(id int64) refMeta {
	if uint64(id) < uint64(len(c.byID)) {
		return c.byID[id]
	}
	return c.sparse[id]
}

// put stores r under id; the caller holds mu (write).
func (c *metaCache) put(id int64, r refMeta) {
	if id < 0 || id >= maxDenseID {
		if c.sparse == nil {
			c.sparse = map[int64]refMeta{}
		}
		c.sparse[id] = r
		return
	}
	if int(id) >= len(c.byID) {
		if r == (refMeta{}) {
			return
		}
		c.byID = slices.Grow(c.byID, int(id)+1-len(c.byID))[:id+1]
	}
	c.byID[id] = r
}

func (c *metaCache) set(id int64, m domain.Metadata) {
	c.mu.Lock()
	c.put(id, toRefMeta(m))
	c.mu.Unlock()
}

func (c *metaCache) drop(id int64) {
	c.mu.Lock()
	c.put(id, refMeta{})
	delete(c.sparse, id)
	c.mu.Unlock()
}

// loadMetadata (re)reads every reference's metadata into the cache.
func (s *Service) loadMetadata(ctx context.Context) error {
	fresh := &metaCache{}
	n := 0
	version, err := s.db.EachMetadata(ctx, func(id int64, m domain.Metadata) error {
		fresh.put(id, toRefMeta(m))
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("loading reference metadata: %w", err)
	}
	s.meta.mu.Lock()
	s.meta.byID, s.meta.sparse, s.meta.version = fresh.byID, fresh.sparse, version
	s.meta.mu.Unlock()
	s.log.Debug("reference metadata loaded", "references", n, "version", version)
	return nil
}

// syncMetadata reloads the cache when another process (an import) changed
// metadata since the last load.
func (s *Service) syncMetadata(ctx context.Context) error {
	v, err := s.db.MetadataVersion(ctx)
	if err != nil {
		return err
	}
	s.meta.mu.RLock()
	same := v == s.meta.version
	s.meta.mu.RUnlock()
	if same {
		return nil
	}
	return s.loadMetadata(ctx)
}

// ownMetadataWrite advances the cache's version past a write this process
// made (and already applied), so the next sync does not reload everything
// for it; when another process wrote in between, the versions differ by
// more than one and the next sync reloads.
func (s *Service) ownMetadataWrite(ctx context.Context) {
	v, err := s.db.MetadataVersion(ctx)
	if err != nil {
		return
	}
	s.meta.mu.Lock()
	if v == s.meta.version+1 {
		s.meta.version = v
	}
	s.meta.mu.Unlock()
}
