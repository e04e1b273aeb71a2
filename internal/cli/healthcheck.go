package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// healthcheck: GET /readyz on this machine's server; exit 0 when ready, 1
// otherwise. For container HEALTHCHECKs: the image has no curl or shell.
// Silent unless -v, since runtimes keep the output of every probe.
func cmdHealthcheck(e *env, args []string) int {
	fs := newFlags(e, "healthcheck", "healthcheck [-v] [-timeout 2s]")
	verbose := fs.Bool("v", false, "print the answer")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	host := cfg.Host
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1" // 0.0.0.0, ::, or a name: probe loopback
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port)) + "/readyz"
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return e.fail(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		if *verbose {
			fmt.Fprintf(e.stderr, "sketchmatch: healthcheck %s: %v\n", url, err)
		}
		return 1
	}
	resp.Body.Close()
	if *verbose {
		fmt.Fprintf(e.stdout, "%s: %s\n", url, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
