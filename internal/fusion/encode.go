package fusion

import (
	"encoding/binary"
	"errors"
	"math"
)

const magic = "SMFUSE1\x00"

// Marshal encodes m (little-endian, float32 matrices kept exactly, so the
// stored model scores exactly like the one calibration measured).
func (m *Model) Marshal() []byte {
	mats := [][]float32{m.PhotoEmbMean, m.SketchEmbMean, m.PhotoHOGMean, m.SketchHOGMean, m.Basis, m.EmbWhiten, m.HOGWhiten, m.CSLSSketches}
	n := len(magic) + 3*8
	for _, v := range mats {
		n += 8 + 4*len(v)
	}
	b := make([]byte, 0, n)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Weight))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.CSLSBeta))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.CSLSK))
	for _, v := range mats {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(v)))
		for _, f := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	}
	return b
}

// Unmarshal decodes what Marshal wrote.
func Unmarshal(b []byte) (*Model, error) {
	bad := errors.New("fusion: damaged model blob")
	if len(b) < len(magic)+24 || string(b[:len(magic)]) != magic {
		return nil, bad
	}
	b = b[len(magic):]
	m := &Model{Weight: math.Float64frombits(binary.LittleEndian.Uint64(b)),
		CSLSBeta: math.Float64frombits(binary.LittleEndian.Uint64(b[8:])),
		CSLSK:    int(binary.LittleEndian.Uint64(b[16:]))}
	b = b[24:]
	for _, dst := range []*[]float32{&m.PhotoEmbMean, &m.SketchEmbMean, &m.PhotoHOGMean, &m.SketchHOGMean, &m.Basis, &m.EmbWhiten, &m.HOGWhiten, &m.CSLSSketches} {
		if len(b) < 8 {
			return nil, bad
		}
		n := binary.LittleEndian.Uint64(b)
		b = b[8:]
		if n > uint64(len(b)/4) {
			return nil, bad
		}
		if n > 0 {
			v := make([]float32, n)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			*dst = v
		}
		b = b[4*n:]
	}
	if len(b) != 0 {
		return nil, bad
	}
	return m, nil
}
