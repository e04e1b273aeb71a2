package web

import "strconv"

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }
func atoi(s string) int            { n, _ := strconv.Atoi(s); return n }

// devEncoderRankOne is the dev-set rank-1 of the plain default encoder
// pipeline measured by internal/embed's TestDevRankOne.
const devEncoderRankOne = 0.936
