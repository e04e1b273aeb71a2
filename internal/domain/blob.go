package domain

// BlobInfo is a blob's path and the SHA-256 of its bytes.
type BlobInfo struct {
	Path   string
	SHA256 string
	Size   int64
}
