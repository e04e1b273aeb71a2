package imagefile

import "encoding/binary"

// jpegOrientation returns the EXIF orientation (1..8) of a JPEG, or 1 when
// there is none or it cannot be read. It walks the marker segments before the
// first scan, finds the APP1 "Exif" segment and reads tag 0x0112 of IFD0.
// Every offset comes from the file, so every read is bounds-checked.
func jpegOrientation(data []byte) int {
	i := 2 // after SOI
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return 1
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8): // no length
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan / end: metadata is over
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads the orientation tag from a TIFF header + IFD0, or
// returns 0.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	ifd := uint64(bo.Uint32(t[4:]))
	if ifd+2 > uint64(len(t)) {
		return 0
	}
	count := uint64(bo.Uint16(t[ifd:]))
	for e := ifd + 2; e+12 <= uint64(len(t)) && count > 0; e, count = e+12, count-1 {
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		// SHORT, count 1: the value sits in the first two bytes of the field.
		if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) != 1 {
			return 0
		}
		if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
			return o
		}
		return 0
	}
	return 0
}

// jpegScans counts the start-of-scan markers of a JPEG, stopping once past
// limit. It skips marker segments by their declared length, exactly as
// image/jpeg does, and walks entropy-coded data byte by byte, so it sees
// every SOS the decoder would.
func jpegScans(data []byte, limit int) int {
	n := 0
	for i := 2; i+1 < len(data); {
		if data[i] != 0xFF { // entropy-coded data (or garbage the decoder skips too)
			i++
			continue
		}
		switch m := data[i+1]; {
		case m == 0xFF: // fill byte
			i++
		case m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8): // stuffed 0xFF, TEM, RSTn, SOI: no length
			i += 2
		case m == 0xD9: // EOI
			return n
		default:
			if m == 0xDA {
				if n++; n > limit {
					return n
				}
			}
			if i+4 > len(data) {
				return n
			}
			i += 2 + int(binary.BigEndian.Uint16(data[i+2:])) // for SOS: the header; its data follows
		}
	}
	return n
}
