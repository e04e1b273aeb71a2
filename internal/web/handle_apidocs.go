package web

import (
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sketchmatch/sketchmatch/internal/web/apispec"
)

// apiDoc is the loaded OpenAPI document and its JSON form.
type apiDoc struct {
	doc  *openapi3.T
	json []byte
}

func loadAPIDoc() (*apiDoc, error) {
	doc, err := apispec.Load()
	if err != nil {
		return nil, err
	}
	js, err := apispec.JSON(doc)
	if err != nil {
		return nil, err
	}
	return &apiDoc{doc: doc, json: js}, nil
}

// GET /api/v1/openapi.json — the contract (no secrets in it: public).
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(s.api.json)
}

type docOp struct {
	Method, Path, Summary, Description string
	Params                             []docParam
	Body                               []string // content types
	Responses                          []docResp
}

type docParam struct{ Name, In, Description string }

type docResp struct{ Status, Description string }

// GET /api/docs — the contract rendered for people, by our own template
// (no external script; the CSP stays strict).
func (s *Server) handleAPIDocs(w http.ResponseWriter, r *http.Request) {
	var ops []docOp
	for _, path := range s.api.doc.Paths.InMatchingOrder() {
		item := s.api.doc.Paths.Value(path)
		for method, op := range item.Operations() {
			d := docOp{Method: method, Path: path, Summary: op.Summary, Description: op.Description}
			for _, p := range op.Parameters {
				d.Params = append(d.Params, docParam{p.Value.Name, p.Value.In, p.Value.Description})
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for ct := range op.RequestBody.Value.Content {
					d.Body = append(d.Body, ct)
				}
				sort.Strings(d.Body)
			}
			for code, resp := range op.Responses.Map() {
				desc := ""
				if resp.Value != nil && resp.Value.Description != nil {
					desc = *resp.Value.Description
				}
				d.Responses = append(d.Responses, docResp{code, desc})
			}
			sort.Slice(d.Responses, func(i, j int) bool { return d.Responses[i].Status < d.Responses[j].Status })
			ops = append(ops, d)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	info := s.api.doc.Info
	s.render(w, r, http.StatusOK, "apidocs", page{Title: "API", Nav: "api", Data: struct {
		Title, Version, Description string
		Ops                         []docOp
	}{info.Title, info.Version, strings.TrimSpace(info.Description), ops}})
}
