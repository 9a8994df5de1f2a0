package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aimsvault/aimsvault/evidence"
)

// Metrics are the scheduler's Prometheus metrics. Every series is labelled
// by connector name; a connector removed from the config loses its series.
//
//	aimsvault_runs_total{connector,status}              counter: finished runs (ok, failed, canceled)
//	aimsvault_runs_skipped_total{connector}             counter: runs skipped, the previous still running
//	aimsvault_artifacts_collected_total{connector}      counter: artifacts stored
//	aimsvault_run_duration_seconds{connector}           histogram: run durations
//	aimsvault_last_success_timestamp_seconds{connector} gauge: end of the last ok run (Unix time)
//	aimsvault_runs_in_progress                          gauge: runs in progress now
type Metrics struct {
	runs        *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	artifacts   *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	inProgress  prometheus.Gauge
}

// runStatuses are the final statuses runs_total counts; each connector
// starts with all three at zero, so that rate() and alerts see them.
var runStatuses = []string{evidence.RunOK, evidence.RunFailed, evidence.RunCanceled}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aimsvault_runs_total",
			Help: "Connector runs finished, by connector and final status (ok, failed, canceled).",
		}, []string{"connector", "status"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aimsvault_runs_skipped_total",
			Help: "Scheduled runs skipped because the connector's previous run was still in progress.",
		}, []string{"connector"}),
		artifacts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aimsvault_artifacts_collected_total",
			Help: "Artifacts stored in the vault by connector runs.",
		}, []string{"connector"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aimsvault_run_duration_seconds",
			Help: "Duration of connector runs, from start to recorded end.",
			// Runs take from under a second (a folder) to an hour (a large
			// organisation through a rate-limited API).
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"connector"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aimsvault_last_success_timestamp_seconds",
			Help: "When the connector's last successful run ended, in seconds since the Unix epoch.",
		}, []string{"connector"}),
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aimsvault_runs_in_progress",
			Help: "Connector runs in progress.",
		}),
	}
	reg.MustRegister(m.runs, m.skipped, m.artifacts, m.duration, m.lastSuccess, m.inProgress)
	return m
}

// add creates a connector's counters at zero.
func (m *Metrics) add(name string) {
	for _, st := range runStatuses {
		m.runs.WithLabelValues(name, st)
	}
	m.skipped.WithLabelValues(name)
	m.artifacts.WithLabelValues(name)
}

// forget drops the series of connectors no longer configured.
func (m *Metrics) forget(names []string) {
	for _, name := range names {
		l := prometheus.Labels{"connector": name}
		m.runs.DeletePartialMatch(l)
		m.skipped.DeletePartialMatch(l)
		m.artifacts.DeletePartialMatch(l)
		m.duration.DeletePartialMatch(l)
		m.lastSuccess.DeletePartialMatch(l)
	}
}

// observe counts a finished run.
// The run counter moves last, so a scrape that sees the run counted also
// sees its duration, artifacts and success time.
func (m *Metrics) observe(r *evidence.Run) {
	m.artifacts.WithLabelValues(r.Connector).Add(float64(r.Artifacts))
	if r.FinishedAt != nil {
		m.duration.WithLabelValues(r.Connector).Observe(r.FinishedAt.Sub(r.StartedAt).Seconds())
		if r.Status == evidence.RunOK {
			m.lastSuccess.WithLabelValues(r.Connector).Set(float64(r.FinishedAt.UnixNano()) / 1e9)
		}
	}
	m.runs.WithLabelValues(r.Connector, r.Status).Inc()
}
