package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Route labels of the report.
const (
	routeHome     = "GET /"
	routeHistory  = "GET /searches"
	routeShow     = "GET /searches/{id}"
	routeSearch   = "POST /api/v1/search"
	routeLogin    = "POST /login"
	pagesP99Limit = 50 * time.Millisecond
)

// sample is one finished request.
type sample struct {
	route  string
	status int    // 0: transport error
	errKey string // the kind of transport error
	dur    time.Duration
	end    time.Time
}

// vuser is one virtual user: its own cookie jar (session), its own
// searches for history views.
type vuser struct {
	name     string
	client   *http.Client
	rng      *rand.Rand
	searches []int64
	samples  []sample
}

func newClient(tr http.RoundTripper, timeout time.Duration) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends req, reads the whole body and records the sample.
func (u *vuser) do(req *http.Request, route string) (int, []byte) {
	start := time.Now()
	resp, err := u.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	s := sample{route: route, dur: time.Since(start), end: time.Now()}
	if err != nil {
		s.errKey = errKind(err)
	} else {
		s.status = resp.StatusCode
	}
	u.samples = append(u.samples, s)
	return s.status, body
}

func errKind(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return "timeout"
	}
	msg := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "EOF", "broken pipe"} {
		if strings.Contains(msg, k) {
			return k
		}
	}
	return "other"
}

// login signs the user in, waiting out 429s (the login rate limit) within
// the deadline.
func (u *vuser) login(ctx context.Context, base, password string, deadline time.Time) error {
	for {
		form := url.Values{"username": {u.name}, "password": {password}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		status, body := u.do(req, routeLogin)
		switch status {
		case http.StatusSeeOther:
			return nil
		case http.StatusTooManyRequests:
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: still 429 at the login deadline: raise LOGIN_RATE_LIMIT on the server (all users sign in from one address)", u.name)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Second):
			}
		case 0:
			return fmt.Errorf("%s: sign-in failed: %s", u.name, u.samples[len(u.samples)-1].errKey)
		default:
			return fmt.Errorf("%s: sign-in answered %d (wrong -password, or create the accounts with -seed-users): %s", u.name, status, snippet(body))
		}
	}
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// search posts one sketch; a 200 remembers the search id for history views.
func (u *vuser) search(ctx context.Context, base string, sketch []byte, k int) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("k", strconv.Itoa(k))
	mw.WriteField("case_number", "LOAD-"+u.name)
	w, _ := mw.CreateFormFile("sketch", "sketch.jpg")
	w.Write(sketch)
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/search", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, body := u.do(req, routeSearch)
	if status == http.StatusOK {
		var r struct {
			SearchID int64 `json:"search_id"`
		}
		if json.Unmarshal(body, &r) == nil && r.SearchID > 0 {
			u.searches = append(u.searches, r.SearchID)
		}
	}
}

func (u *vuser) get(ctx context.Context, base, path, route string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	u.do(req, route)
}

// loop runs the request mix until the deadline.
func (u *vuser) loop(ctx context.Context, o options, sketches [][]byte, until time.Time) {
	for i := 0; time.Now().Before(until) && ctx.Err() == nil; i++ {
		r := u.rng.Float64()
		switch {
		case r < o.searchShare && len(sketches) > 0:
			u.search(ctx, o.url, sketches[u.rng.IntN(len(sketches))], o.k)
		case r < o.searchShare+o.historyShare && len(u.searches) > 0:
			id := u.searches[u.rng.IntN(len(u.searches))]
			u.get(ctx, o.url, "/searches/"+strconv.FormatInt(id, 10), routeShow)
		case i%2 == 0:
			u.get(ctx, o.url, "/", routeHome)
		default:
			u.get(ctx, o.url, "/searches", routeHistory)
		}
		if o.think > 0 {
			time.Sleep(o.think)
		}
	}
}

// loadSketches reads every image in dir.
func loadSketches(dir string) ([][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png":
		default:
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no .jpg/.jpeg/.png sketches in %s", dir)
	}
	return out, nil
}

// runLoad signs the users in, measures single-search latency, runs the
// load phase with RSS sampling and prints the report.
func runLoad(ctx context.Context, o options, out io.Writer) (*report, error) {
	o.url = strings.TrimRight(o.url, "/")
	var sketches [][]byte
	if o.searchShare > 0 {
		if o.sketches == "" {
			return nil, errors.New("-sketches DIR is required when -search-share > 0")
		}
		var err error
		if sketches, err = loadSketches(o.sketches); err != nil {
			return nil, err
		}
	}
	tr := &http.Transport{MaxIdleConns: 2 * o.users, MaxIdleConnsPerHost: 2 * o.users, IdleConnTimeout: 90 * time.Second}
	if err := o.configureTransport(tr); err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()

	probe := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := probe.Get(o.url + "/readyz")
	if err != nil {
		return nil, fmt.Errorf("the server does not answer at %s: %w", o.url, err)
	}
	ready, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && o.searchShare > 0 {
		return nil, fmt.Errorf("/readyz answers %d (%s): searches would all fail", resp.StatusCode, snippet(ready))
	}
	fmt.Fprintf(out, "loadtest: %d users (accounts %s..%s), %s against %s; mix: %.0f%% searches, %.0f%% history views, rest page views\n",
		o.users, accountName(o.userPrefix, 1), accountName(o.userPrefix, o.accounts), o.duration, o.url, 100*o.searchShare, 100*o.historyShare)

	// Sign in, a few at a time (each sign-in is an argon2id hash).
	users := make([]*vuser, o.users)
	loginStart := time.Now()
	deadline := loginStart.Add(o.loginBudget)
	sem := make(chan struct{}, max(1, o.loginConc))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var loginErr error
	for i := range users {
		users[i] = &vuser{name: accountName(o.userPrefix, i%o.accounts+1), client: newClient(tr, o.timeout),
			rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		wg.Add(1)
		go func(u *vuser) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			mu.Lock()
			failed := loginErr != nil
			mu.Unlock()
			if failed {
				return
			}
			if err := u.login(ctx, o.url, o.password, deadline); err != nil {
				mu.Lock()
				if loginErr == nil {
					loginErr = err
				}
				mu.Unlock()
			}
		}(users[i])
	}
	wg.Wait()
	if loginErr != nil {
		return nil, loginErr
	}
	fmt.Fprintf(out, "signed in %d users in %s\n", o.users, time.Since(loginStart).Round(time.Millisecond))

	// Single-search latency, one at a time, on an otherwise idle server.
	var single time.Duration
	if o.calibrate > 0 && len(sketches) > 0 {
		u := users[0]
		var ds []time.Duration
		for i := 0; i < o.calibrate && ctx.Err() == nil; i++ {
			n := len(u.samples)
			u.search(ctx, o.url, sketches[i%len(sketches)], o.k)
			if s := u.samples[n]; s.status == http.StatusOK {
				ds = append(ds, s.dur)
			}
		}
		u.samples = u.samples[:0] // not part of the load
		if len(ds) > 0 {
			single = percentile(ds, 50)
			fmt.Fprintf(out, "single-search latency: median %s of %d sequential searches\n", single.Round(time.Millisecond), len(ds))
		}
	}

	// The load phase.
	sampler := startRSS(ctx, o, tr)
	start := time.Now()
	until := start.Add(o.duration)
	for _, u := range users {
		u.samples = u.samples[:0]
		wg.Add(1)
		go func(u *vuser) {
			defer wg.Done()
			u.loop(ctx, o, sketches, until)
		}(u)
	}
	wg.Wait()
	elapsed := time.Since(start)
	rss := sampler.stop()

	var all []sample
	for _, u := range users {
		all = append(all, u.samples...)
	}
	rep := buildReport(o, all, elapsed, single, rss)
	rep.print(out)
	return rep, ctx.Err()
}

// configureTransport applies -cacert (trust this PEM file, e.g. a test
// nginx's self-signed certificate) and -connect (dial this address whatever
// the URL's host, so the URL keeps the name the certificate is for).
func (o options) configureTransport(tr *http.Transport) error {
	if o.caCert != "" {
		pem, err := os.ReadFile(o.caCert)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-cacert %s: no PEM certificate in it", o.caCert)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	if o.connect != "" {
		addr := o.connect
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		}
	}
	return nil
}
