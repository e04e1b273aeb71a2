// Package docscheck holds tests that keep documentation honest: every test
// docs/security.md names as proof of a security requirement must exist.
package docscheck
