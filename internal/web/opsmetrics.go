package web

import "github.com/prometheus/client_golang/prometheus"

// RegisterMetrics adds collectors to the server's /metrics registry (the
// operational gauges internal/app exports: readiness, disk space, audit
// chain, calibration, gallery and encoder state).
func (s *Server) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
