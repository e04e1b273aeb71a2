// Package apispec holds the OpenAPI document of /api/v1: the source of the
// API contract. The server serves it and its tests check the router and
// every API request and response against it.
package apispec

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var source []byte

// Load parses and validates the document.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(source)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
}

// JSON is the document as JSON (what GET /api/v1/openapi.json serves).
func JSON(doc *openapi3.T) ([]byte, error) {
	return json.MarshalIndent(doc, "", "  ")
}
