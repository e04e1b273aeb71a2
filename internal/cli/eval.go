package cli

import "fmt"

func cmdEval(e *env, args []string) int {
	fmt.Fprintln(e.stderr, "sketchmatch eval: not built yet")
	return 1
}

func cmdCalibrate(e *env, args []string) int {
	fmt.Fprintln(e.stderr, "sketchmatch calibrate: not built yet")
	return 1
}
