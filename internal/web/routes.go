package web

import "github.com/go-chi/chi/v5"

// userRoutes are open to every signed-in user (officers and admins).
// Must be mounted after requireUser.
func (s *Server) userRoutes(r chi.Router) {
	r.Get("/", s.handleHome)
	r.Get("/api/docs", s.handleAPIDocs)
	s.searchRoutes(r)
}

// adminRoutes are for administrators. Must be mounted after requireAdmin.
func (s *Server) adminRoutes(r chi.Router) {
	r.Get("/admin/users", s.handleUsers)
	r.Post("/admin/users", s.handleUserCreate)
	r.Post("/admin/users/{id}/disable", s.handleUserDisable)
	r.Post("/admin/users/{id}/enable", s.handleUserEnable)
	r.Post("/admin/users/{id}/password", s.handleUserPassword)
	r.Post("/admin/users/{id}/unlock", s.handleUserUnlock)
	r.Get("/admin/audit", s.handleAudit)
	r.Get("/admin/audit.csv", s.handleAuditCSV)
	r.Get("/api/v1/audit", s.handleAPIAudit)
	r.Get("/admin/tokens", s.handleTokens)
	r.Post("/admin/tokens", s.handleTokenCreate)
	r.Post("/admin/tokens/{name}/revoke", s.handleTokenRevoke)
	r.Post("/searches/{id}/hold", s.handleSearchHold)
	r.Post("/api/v1/searches/{id}/hold", s.handleSearchHold)
	s.galleryRoutes(r)
	s.qualityRoutes(r)
}
