package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// spoolUploads: every malformed or oversized gallery upload is a clear 4xx.
func TestSpoolUploadsRejects(t *testing.T) {
	e := newEnv(t, map[string]string{"MAX_UPLOAD_SIZE": "1M"})
	admin := mustLogin(t, e, "alice")
	many := map[string][]byte{}
	for i := range maxUploadFiles + 1 {
		many[fmt.Sprintf("f%d.png", i)] = []byte("x")
	}
	for _, tc := range []struct {
		name   string
		body   func() (*bytes.Buffer, string)
		status int
		want   string
	}{
		{"NoFiles", func() (*bytes.Buffer, string) {
			return multipartBody(t, map[string]string{"label": "x"}, "photos", nil)
		}, http.StatusBadRequest, "Choose one or more photos"},
		{"TooManyFiles", func() (*bytes.Buffer, string) { return multipartBody(t, nil, "photos", many) }, http.StatusBadRequest, "At most 500 files"},
		{"BodyOverLimit", func() (*bytes.Buffer, string) {
			return multipartBody(t, nil, "photos", map[string][]byte{"big.png": bytes.Repeat([]byte("x"), 2<<20)})
		}, http.StatusRequestEntityTooLarge, "larger than the"},
		{"FieldTooLong", func() (*bytes.Buffer, string) {
			return multipartBody(t, map[string]string{"notes": strings.Repeat("n", maxFieldBytes+1)}, "photos", map[string][]byte{"a.png": []byte("x")})
		}, http.StatusBadRequest, "too long"},
		{"NotMultipart", func() (*bytes.Buffer, string) {
			return bytes.NewBufferString("photos=x"), "application/x-www-form-urlencoded"
		}, http.StatusBadRequest, "could not be read"},
		{"BrokenMultipart", func() (*bytes.Buffer, string) {
			return bytes.NewBufferString("--b\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a\"\r\n\r\nxx"), "multipart/form-data; boundary=b"
		}, http.StatusBadRequest, "could not be read"},
		{"NotAnImage", func() (*bytes.Buffer, string) {
			return multipartBody(t, nil, "photos", map[string][]byte{"a.png": []byte("not an image")})
		}, http.StatusBadRequest, "Unsupported file type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := tc.body()
			for _, path := range []string{"/references", "/api/v1/references"} {
				req, _ := http.NewRequest(http.MethodPost, e.ts.URL+path, bytes.NewReader(body.Bytes()))
				req.Header.Set("Content-Type", ct)
				resp, out := admin.do(req)
				if resp.StatusCode != tc.status || !strings.Contains(out, tc.want) {
					t.Fatalf("POST %s: %d, want %d with %q:\n%.400s", path, resp.StatusCode, tc.status, tc.want, out)
				}
			}
		})
	}
}
