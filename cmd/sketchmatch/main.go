// Command sketchmatch is the SketchMatch server and its admin tools.
// See `sketchmatch help` and README.md.
package main

import (
	"os"
	_ "time/tzdata" // DISPLAY_TIMEZONE works in images without a zone database

	"github.com/sketchmatch/sketchmatch/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
