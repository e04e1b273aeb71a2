package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is the site map: every route of the application, pages and API,
// in one table, grouped by who may use it. The handlers live beside their
// subject (handle_*.go); the middleware chain is
// recover → request id + access log → security headers → cross-origin
// protection → session or bearer token → role.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.withRequestID, s.securityHeaders, s.crossOrigin)
	// Error pages keep the navigation of a signed-in user: the session is
	// looked up for them too (they are outside the groups below).
	r.NotFound(s.loadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, "")
	})).ServeHTTP)
	r.MethodNotAllowed(s.loadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusMethodNotAllowed, "")
	})).ServeHTTP)

	// Anyone: probes, metrics (loopback), static assets, the API contract.
	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Method(http.MethodGet, "/metrics", allowNetworks(s.cfg.MetricsAllowedNetworks,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.renderError(w, r, http.StatusNotFound, "") }),
		s.metrics.handler()))
	if s.cfg.Pprof {
		r.Mount("/debug/pprof", allowNetworks(s.cfg.MetricsAllowedNetworks,
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.renderError(w, r, http.StatusNotFound, "") }),
			pprofHandler()))
	}
	r.Get("/static/*", s.handleStatic)
	r.Get("/favicon.ico", s.handleFavicon)
	r.Get("/api/v1/openapi.json", s.handleOpenAPI)

	r.Group(func(r chi.Router) {
		r.Use(noStore, s.loadSession, s.bearerAuth)

		// Signing in and out.
		r.Get("/login", s.handleLoginForm)
		r.With(s.loginRateLimit()).Post("/login", s.handleLogin)
		r.Post("/logout", s.handleLogout)

		// Every signed-in user (officers and admins; API tokens by scope).
		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Get("/", s.handleHome)
			r.Get("/api/docs", s.handleAPIDocs)
			// Searching and the record of searches.
			r.Post("/search", s.handleSearch)
			r.Get("/searches", s.handleSearches)
			r.Get("/searches.csv", s.handleSearchesCSV)
			r.Get("/searches/{id}", s.handleSearchShow)
			r.Get("/searches/{id}/sketch", s.handleSearchSketch)
			r.Get("/searches/{id}/compare/{rank}", s.handleCompare)
			r.Get("/searches/{id}/report.pdf", s.handleSearchReport)
			r.Post("/api/v1/search", s.handleAPISearch)
			r.Get("/api/v1/searches/{id}", s.handleAPISearchShow)
			r.Get("/api/v1/searches/{id}/report.pdf", s.handleSearchReport)
			// The review of a search's candidates, by the officer who ran it.
			r.Post("/searches/{id}/reviews/{subject_id}", s.handleReviewMark)
			r.Post("/searches/{id}/close", s.handleSearchClose)
			r.Put("/api/v1/searches/{id}/reviews/{subject_id}", s.handleReviewMark)
			r.Post("/api/v1/searches/{id}/close", s.handleSearchClose)
			// Reference images (officers see them in results); looked up
			// by id, never by a path from the request.
			r.Get("/references/{id}/image", s.handleRefImage)
			r.Get("/references/{id}/thumb", s.handleRefThumb)

			// Administrators (and tokens with the route's scope).
			r.Group(func(r chi.Router) {
				r.Use(s.requireAdmin)
				// The gallery.
				r.Get("/references", s.handleGallery)
				r.Post("/references", s.handleGalleryAdd)
				r.Post("/references/labels", s.handleReferenceLabels)
				r.Get("/references/{id}", s.handleReference)
				r.Post("/references/{id}", s.handleReferenceUpdate)
				r.Post("/references/{id}/delete", s.handleReferenceDelete)
				r.Post("/references/{id}/face", s.handleReferenceFace)
				r.Get("/api/v1/references", s.handleAPIReferences)
				r.Post("/api/v1/references", s.handleAPIReferencesAdd)
				r.Delete("/api/v1/references/{id}", s.handleAPIReferenceDelete)
				r.Post("/api/v1/references/{id}/face", s.handleAPIReferenceFace)
				// People: a subject's photos, renaming, merging, moving a photo.
				r.Get("/subjects", s.handleSubjects)
				r.Get("/subjects/{id}", s.handleSubject)
				r.Post("/subjects/{id}", s.handleSubjectUpdate)
				r.Post("/subjects/{id}/merge", s.handleSubjectMerge)
				r.Post("/subjects/{id}/metadata", s.handleSubjectMetadata)
				r.Post("/references/{id}/subject", s.handleReferenceMove)
				r.Get("/api/v1/subjects", s.handleAPISubjects)
				r.Get("/api/v1/subjects/{id}", s.handleAPISubject)
				r.Post("/api/v1/subjects/{id}/merge", s.handleAPISubjectMerge)
				r.Post("/api/v1/references/{id}/move", s.handleAPIReferenceMove)
				// Supervising the review: every search by review state, and
				// reopening a closed one.
				r.Get("/admin/reviews", s.handleReviews)
				r.Post("/searches/{id}/reopen", s.handleSearchReopen)
				r.Post("/api/v1/searches/{id}/reopen", s.handleSearchReopen)
				// Legal holds on searches.
				r.Post("/searches/{id}/hold", s.handleSearchHold)
				r.Post("/api/v1/searches/{id}/hold", s.handleSearchHold)
				// Match quality and calibration.
				r.Get("/admin/quality", s.handleQuality)
				r.Get("/admin/quality/reports/{id}/plot.png", s.handleQualityPlot)
				r.Post("/admin/quality/calibrate", s.handleCalibrate)
				// Users.
				r.Get("/admin/users", s.handleUsers)
				r.Post("/admin/users", s.handleUserCreate)
				r.Post("/admin/users/{id}/disable", s.handleUserDisable)
				r.Post("/admin/users/{id}/enable", s.handleUserEnable)
				r.Post("/admin/users/{id}/password", s.handleUserPassword)
				r.Post("/admin/users/{id}/unlock", s.handleUserUnlock)
				// The audit trail.
				r.Get("/admin/audit", s.handleAudit)
				r.Get("/admin/audit.csv", s.handleAuditCSV)
				r.Get("/api/v1/audit", s.handleAPIAudit)
				// Service tokens of the integration API.
				r.Get("/admin/tokens", s.handleTokens)
				r.Post("/admin/tokens", s.handleTokenCreate)
				r.Post("/admin/tokens/{name}/revoke", s.handleTokenRevoke)
			})
		})
	})
	return r
}

// handleStatic serves a fingerprinted asset (unknown names are 404).
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.static.byHashed[chi.URLParam(r, "*")]; !ok {
		s.renderError(w, r, http.StatusNotFound, "")
		return
	}
	s.static.ServeHTTP(w, r)
}

// handleFavicon points browsers that ask for /favicon.ico at the SVG.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	u, _ := s.static.url("favicon.svg")
	http.Redirect(w, r, u, http.StatusMovedPermanently)
}
