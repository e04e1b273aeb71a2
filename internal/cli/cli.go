// Package cli implements the sketchmatch subcommands. Each returns an exit
// code: 0 success, 1 failure, 2 usage error.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/sketchmatch/sketchmatch/internal/app"
	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/config"
)

// env is what every command gets.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	usage string
	help  string
	run   func(e *env, args []string) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":       {"serve", "run the HTTP server", cmdServe},
		"user":        {"user add|passwd|disable|enable|list|bootstrap ...", "manage users", cmdUser},
		"import":      {"import [--label-from-filename] [--metadata FILE.csv] PATH...", "bulk-import reference photos (files or folders)", cmdImport},
		"reindex":     {"reindex", "embed every reference lacking an embedding for the active model", cmdReindex},
		"eval":        {"eval --photos DIR --sketches DIR [--json FILE] [--plot FILE.png] | eval --compare A.json B.json... --plot FILE.png", "sketch→photo identification accuracy", cmdEval},
		"calibrate":   {"calibrate (--photos DIR --sketches DIR)... | --list FILE", "calibrate the active model (centring or fused search, score bands) on one or more folder pairs", cmdCalibrate},
		"models":      {"models", "list installed models and verify their checksums", cmdModels},
		"check":       {"check", "validate config, database, ONNX Runtime and model", cmdCheck},
		"backup":      {"backup FILE", "consistent online copy of the database", cmdBackup},
		"audit":       {"audit verify", "verify the audit trail's hash chain", cmdAudit},
		"token":       {"token create --name NAME --scope SCOPE[,SCOPE] [--expires 90d] | token list | token revoke NAME", "manage service tokens of the integration API", cmdToken},
		"migrate":     {"migrate --to postgres://user@host/dbname", "copy this SQLite installation and its files into an empty PostgreSQL database, verified; rerun to resume", cmdMigrate},
		"purge":       {"purge [--older-than 400d] [--dry-run]", "delete searches past the retention period (RETENTION_SEARCH_DAYS)", cmdPurge},
		"healthcheck": {"healthcheck [-v]", "exit 0 when this machine's server answers /readyz with 200 (container HEALTHCHECK)", cmdHealthcheck},
	}
}

// Run executes the command in args.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sketchmatch: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
		// Commands with subcommands (user, token, audit) parse their own
		// flags after the subcommand; --help right after the command
		// prints what it takes.
		fmt.Fprintf(stdout, "usage: sketchmatch %s\n\n%s\n", c.usage, c.help)
		return 0
	}
	if wantsHelp(args[1:]) {
		// A subcommand's --help (user add --help) is answered by its flag
		// set, which prints its usage and stops with flag.ErrHelp: that
		// usage goes to stdout and is a success, as asked-for help should be.
		he := *e
		he.stderr = stdout
		if code := c.run(&he, args[1:]); code != 2 {
			return code
		}
		return 0
	}
	return c.run(e, args[1:])
}

// wantsHelp reports whether args ask for help (-h, -help or --help before
// any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sketchmatch COMMAND [options]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-58s %s\n", commands[n].usage, commands[n].help)
	}
	fmt.Fprintln(w, "\nConfiguration comes from the environment and ./.env (see .env.example).")
}

// loadConfig reads .env from the working directory and the environment.
func (e *env) loadConfig() (*config.Config, bool) {
	cfg, err := config.Load(".env")
	if err != nil {
		fmt.Fprintf(e.stderr, "sketchmatch: configuration error:\n%s\n", indent(err.Error()))
		return nil, false
	}
	return cfg, true
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// open loads config and the app for a CLI command (log to stderr only).
func (e *env) open(ctx context.Context, withEncoder, requireEncoder bool) (*app.App, int) {
	cfg, ok := e.loadConfig()
	if !ok {
		return nil, 1
	}
	// Batch commands (import, reindex, eval, calibrate) want throughput, not
	// the latency the server's pool is tuned for: one single-threaded worker
	// per core embeds about 1.7x more images per second on 2 cores than the
	// server's default. Explicit settings win.
	if _, set := os.LookupEnv("INFERENCE_WORKERS"); !set {
		cfg.InferenceWorkers = runtime.NumCPU()
		if _, set := os.LookupEnv("INTRA_OP_THREADS"); !set {
			cfg.IntraOpThreads = 1
		}
	}
	cfg.InferenceNice = 0 // nothing to yield to
	a, err := app.Open(ctx, cfg, app.Options{WithEncoder: withEncoder, RequireEncoder: requireEncoder, Stderr: quietLog{e.stderr}, NoLogFile: true})
	if err != nil {
		fmt.Fprintf(e.stderr, "sketchmatch: %v\n", err)
		return nil, 1
	}
	return a, 0
}

// quietLog passes only warnings and errors of the CLI's own logging through
// (the text handler writes "level=WARN"/"level=ERROR").
type quietLog struct{ w io.Writer }

func (q quietLog) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "level=WARN") || strings.Contains(string(p), "level=ERROR") {
		return q.w.Write(p)
	}
	return len(p), nil
}

// signalContext is cancelled on SIGINT/SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// newFlags returns a FlagSet that prints errors to stderr.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: sketchmatch %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// fail prints a user-facing error and returns exit code 1.
func (e *env) fail(err error) int {
	msg := err.Error()
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Code != apperr.EINTERNAL {
		msg = ae.Message
	}
	fmt.Fprintf(e.stderr, "sketchmatch: %s\n", msg)
	return 1
}
