package gallery

// BreakIndexForTest closes the index's float32 file under it, as a storage
// fault would make it unreadable.
func (s *Service) BreakIndexForTest() {
	if idx, _ := s.snapshot(); idx != nil {
		idx.Close()
	}
}
