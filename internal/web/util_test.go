package web

import "strconv"

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }
func atoi(s string) int            { n, _ := strconv.Atoi(s); return n }
