package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"

	"github.com/sketchmatch/sketchmatch/internal/web/apispec"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specDoc    *openapi3.T
	specErr    error
)

func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/pdf", openapi3filter.FileBodyDecoder)
		if specDoc, specErr = apispec.Load(); specErr != nil {
			return
		}
		// Match paths whatever the test server's host.
		specDoc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(specDoc)
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specDoc, specRouter
}

// specValidator checks every /api/v1 request a test makes and the answer
// to it against the OpenAPI document: a request the contract forbids must
// not succeed, and every response must be one the contract declares, with
// a body that fits its schema.
func specValidator(t testing.TB, next http.Handler) http.Handler {
	_, router := loadSpec(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		probe := r.Clone(context.Background())
		probe.Body = io.NopCloser(bytes.NewReader(body))
		probe.URL.Host, probe.URL.Scheme = "", ""
		route, params, err := router.FindRoute(probe)
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		if err != nil {
			// Not in the contract: the server must not serve it.
			if rec.Code < 400 {
				t.Errorf("contract: %s %s is not in openapi.yaml but answered %d", r.Method, r.URL.Path, rec.Code)
			}
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		if reqErr := openapi3filter.ValidateRequest(context.Background(), in); reqErr != nil && rec.Code < 400 {
			t.Errorf("contract: %s %s does not fit openapi.yaml but answered %d: %v", r.Method, r.URL.Path, rec.Code, reqErr)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("contract: the answer %d to %s %s does not fit openapi.yaml: %v\n%.600s", rec.Code, r.Method, r.URL.Path, err, rec.Body.String())
		}
	})
}

// The router and the contract list the same /api/v1 routes.
func TestAPIRoutesMatchTheContract(t *testing.T) {
	doc, _ := loadSpec(t)
	e := newEnv(t, nil)
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec[method+" "+path] = true
		}
	}
	inRouter := map[string]bool{}
	err := chi.Walk(e.srv.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/v1/") {
			inRouter[method+" "+route] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing, extra []string
	for k := range inRouter {
		if !inSpec[k] {
			missing = append(missing, k)
		}
	}
	for k := range inSpec {
		if !inRouter[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("openapi.yaml routes the router lacks: %v", extra)
	}
	if len(inRouter) < 8 {
		t.Fatalf("only %d API routes found: %v", len(inRouter), inRouter)
	}
}

func TestOpenAPIServedAndRendered(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.client().get("/api/v1/openapi.json")
	if resp.StatusCode != 200 || !strings.Contains(body, `"openapi": "3.1.0"`) || !strings.Contains(body, "/api/v1/search") {
		t.Fatalf("openapi.json: %d", resp.StatusCode)
	}
	officer := mustLogin(t, e, "bob")
	resp, body = officer.get("/api/docs")
	if resp.StatusCode != 200 || !strings.Contains(body, "/api/v1/references/{id}/face") || strings.Contains(body, "<script src=\"http") {
		t.Fatalf("/api/docs: %d", resp.StatusCode)
	}
}

// Every route is registered in routes.go (the site map), nowhere else.
func TestOneRouteTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	reg := regexp.MustCompile(`\br\.(Get|Post|Put|Patch|Delete|Method|Handle|HandleFunc)\(\s*(http\.Method\w+,\s*)?"/`)
	for _, f := range files {
		if f == "routes.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := reg.FindIndex(b); loc != nil {
			t.Errorf("%s registers a route (%q): routes belong in routes.go", f, b[loc[0]:loc[1]])
		}
	}
}
