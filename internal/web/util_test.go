package web

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

// pngHeaderBytes is a PNG signature + IHDR claiming w×h pixels, nothing else.
func pngHeaderBytes(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }
func atoi(s string) int            { n, _ := strconv.Atoi(s); return n }

// devEncoderRankOne is the dev-set rank-1 of the plain default encoder
// pipeline measured by internal/embed's TestDevRankOne.
const devEncoderRankOne = 0.936
