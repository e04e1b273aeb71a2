package cli

import (
	"io"
	"os"

	"golang.org/x/term"
)

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func readHidden(r io.Reader) (string, error) {
	f := r.(*os.File)
	b, err := term.ReadPassword(int(f.Fd()))
	return string(b), err
}
