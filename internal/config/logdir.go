package config

import "strings"

// strOrEmpty is str for variables where an explicit empty value means
// something (LOG_DIR= logs JSON to stdout instead of files); only an unset
// variable takes the default.
func (p *parser) strOrEmpty(key, def string) string {
	if v, ok := p.lookup(key); ok {
		return strings.TrimSpace(v)
	}
	return def
}
