package index

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"unsafe"
)

// floatStore holds the exact float32 rows that the second stage re-scores.
// The first stage never reads it, so it can live outside the Go heap: a
// file whose pages the kernel caches (page cache is not the process's RSS
// and is given back under memory pressure). The caller holds the index's
// write lock for the mutating methods; read is safe for concurrent use.
type floatStore interface {
	// read copies row r into dst (len dim) and returns the row to score:
	// dst itself, or for the in-memory store the row in place.
	read(r int, dst []float32) ([]float32, error)
	set(r int, vec []float32) error // overwrite row r (r < len)
	push(vecs []float32) error      // append rows
	move(from, to int) error        // copy row from over row to
	truncate(n int) error           // keep rows [0,n)
	reserve(rows int)               // capacity hint (memory store only)
	bytesInHeap() int64             // Go-heap bytes held (for Stats)
}

// memFloats keeps the rows in one []float32, as the index did before the
// compact first stage existed: the choice for small indexes and tests.
type memFloats struct {
	d    int
	data []float32
}

func (m *memFloats) read(r int, _ []float32) ([]float32, error) {
	return m.data[r*m.d : (r+1)*m.d : (r+1)*m.d], nil
}
func (m *memFloats) set(r int, vec []float32) error { copy(m.data[r*m.d:], vec); return nil }
func (m *memFloats) push(vecs []float32) error      { m.data = append(m.data, vecs...); return nil }
func (m *memFloats) move(from, to int) error {
	copy(m.data[to*m.d:(to+1)*m.d], m.data[from*m.d:])
	return nil
}
func (m *memFloats) truncate(n int) error { m.data = m.data[:n*m.d]; return nil }
func (m *memFloats) reserve(rows int) {
	if cap(m.data) >= rows*m.d {
		return
	}
	data := make([]float32, len(m.data), rows*m.d)
	copy(data, m.data)
	m.data = data
}
func (m *memFloats) bytesInHeap() int64 { return int64(cap(m.data)) * 4 }

// fileFloats keeps the rows in an unlinked temporary file: nothing is left
// behind if the process dies, and the space is freed when the file is closed
// (Close, or the *os.File's finaliser once an index replaced at reload is
// garbage). Rows are little-endian float32, row r at byte r*4*d.
type fileFloats struct {
	d int
	n int
	f *os.File
}

func newFileFloats(dir string, d int) (*fileFloats, error) {
	f, err := os.CreateTemp(dir, "sketchmatch-index-*.f32")
	if err != nil {
		return nil, fmt.Errorf("index: float32 store: %w", err)
	}
	// Unlink now: the open descriptor keeps the data; a crash leaves no file.
	// (Where the OS refuses to unlink an open file, Close removes it.)
	if os.Remove(f.Name()) == nil {
		return &fileFloats{d: d, f: f}, nil
	}
	return &fileFloats{d: d, f: f}, nil
}

func (s *fileFloats) read(r int, dst []float32) ([]float32, error) {
	dst = dst[:s.d]
	if littleEndian { // straight into dst
		if _, err := s.f.ReadAt(encodeRows(dst), int64(r)*int64(4*s.d)); err != nil {
			return nil, fmt.Errorf("index: reading row %d: %w", r, err)
		}
		return dst, nil
	}
	b := make([]byte, 4*s.d)
	if _, err := s.f.ReadAt(b, int64(r)*int64(len(b))); err != nil {
		return nil, fmt.Errorf("index: reading row %d: %w", r, err)
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return dst, nil
}

// encodeRows returns vecs as little-endian bytes: the same memory on a
// little-endian machine (no copy: the start-up load writes GBs), a copy
// elsewhere.
func encodeRows(vecs []float32) []byte {
	if len(vecs) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&vecs[0])), 4*len(vecs))
	}
	b := make([]byte, 4*len(vecs))
	for i, v := range vecs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func (s *fileFloats) set(r int, vec []float32) error {
	_, err := s.f.WriteAt(encodeRows(vec), int64(r)*int64(4*s.d))
	return err
}

func (s *fileFloats) push(vecs []float32) error {
	// Large batches go out in pieces so the encode buffer stays small.
	const piece = 1 << 18 // floats
	for len(vecs) > 0 {
		m := min(len(vecs), piece-piece%s.d)
		m = max(m, s.d)
		if _, err := s.f.WriteAt(encodeRows(vecs[:m]), int64(s.n)*int64(4*s.d)); err != nil {
			return fmt.Errorf("index: writing rows: %w", err)
		}
		s.n += m / s.d
		vecs = vecs[m:]
	}
	return nil
}

func (s *fileFloats) move(from, to int) error {
	b := make([]byte, 4*s.d)
	if _, err := s.f.ReadAt(b, int64(from)*int64(len(b))); err != nil {
		return err
	}
	_, err := s.f.WriteAt(b, int64(to)*int64(len(b)))
	return err
}

func (s *fileFloats) truncate(n int) error {
	s.n = n
	return s.f.Truncate(int64(n) * int64(4*s.d))
}

func (s *fileFloats) reserve(int)        {}
func (s *fileFloats) bytesInHeap() int64 { return 0 }

func (s *fileFloats) close() error {
	name := s.f.Name()
	err := s.f.Close()
	os.Remove(name) // already unlinked where the OS allows it
	return err
}
