// Package metrics is nhiscan serve's Prometheus registry
// (prometheus/client_golang): what scans, jobs, campaigns and revocations
// did, and what the last scan saw. The names and labels are listed once,
// here, and pinned by a golden test; deploy/prometheus/alerts.yaml uses
// them.
//
// The package decides nothing: the wiring (cmd/nhiscan) tells it what
// happened, from the store and the scheduler's events. Collectors never
// import it.
package metrics

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Metric names.
const (
	ScanDuration     = "nhiscan_scan_duration_seconds"
	Scans            = "nhiscan_scans_total"
	LastCompleteScan = "nhiscan_last_complete_scan_timestamp_seconds"
	APICalls         = "nhiscan_api_calls_total"
	Gaps             = "nhiscan_gaps"
	OpenFindings     = "nhiscan_open_findings"
	CampaignItems    = "nhiscan_campaign_items"
	CampaignOverdue  = "nhiscan_campaign_overdue_items"
	CampaignProgress = "nhiscan_campaign_progress_ratio"
	Revocations      = "nhiscan_revocation_actions"
	JobRuns          = "nhiscan_job_runs_total"
	JobSkipped       = "nhiscan_job_skipped_total"
	JobRunning       = "nhiscan_job_running"
	WebhookSent      = "nhiscan_webhook_deliveries_total"
)

// Metrics holds the registry and its series.
type Metrics struct {
	reg *prometheus.Registry

	scanDuration *prometheus.HistogramVec
	scans        *prometheus.CounterVec
	lastComplete prometheus.Gauge
	apiCalls     *prometheus.CounterVec
	gaps         *prometheus.GaugeVec
	findings     *prometheus.GaugeVec
	campItems    *prometheus.GaugeVec
	campOverdue  *prometheus.GaugeVec
	campProgress *prometheus.GaugeVec
	revocations  *prometheus.GaugeVec
	jobRuns      *prometheus.CounterVec
	jobSkipped   *prometheus.CounterVec
	jobRunning   *prometheus.GaugeVec
	webhook      *prometheus.CounterVec

	mu         sync.Mutex
	governance []Sample
}

// Sample is one precomputed sample (catalog coverage from
// reports.GovernanceMetrics).
type Sample struct {
	Name, Help string
	Labels     [][2]string // name, value; sorted by name
	Value      float64
}

// New returns the registry with every series registered. process adds
// the Go runtime and process collectors (not in tests: their values vary).
func New(process bool) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.scanDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: ScanDuration,
		Help:    "Duration of scans run by nhiscan serve, by result (complete, partial, failed).",
		Buckets: []float64{10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}}, []string{"result"})
	m.scans = prometheus.NewCounterVec(prometheus.CounterOpts{Name: Scans, Help: "Scans run by nhiscan serve, by result."}, []string{"result"})
	m.lastComplete = prometheus.NewGauge(prometheus.GaugeOpts{Name: LastCompleteScan,
		Help: "Unix time the last complete scan (no gap) finished; 0 before the first."})
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: APICalls,
		Help: "Provider API calls made by scans, by provider, operation and status (ok, denied, throttled, timeout, unavailable, error)."},
		[]string{"provider", "operation", "status"})
	m.gaps = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Gaps,
		Help: "Gaps of the latest scan, by provider and the facet they hide (scope: the whole scope)."}, []string{"provider", "facet"})
	m.findings = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: OpenFindings,
		Help: "Open, unsuppressed findings of the latest scan, by family and severity."}, []string{"family", "severity"})
	m.campItems = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: CampaignItems,
		Help: "Items of open campaigns, by campaign and state (decided, unanswered)."}, []string{"campaign", "state"})
	m.campOverdue = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: CampaignOverdue,
		Help: "Unanswered items past their deadline, by open campaign."}, []string{"campaign"})
	m.campProgress = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: CampaignProgress,
		Help: "Share of an open campaign's items decided, 0 to 1."}, []string{"campaign"})
	m.revocations = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Revocations,
		Help: "Revocation actions recorded in the journal, by stage and outcome."}, []string{"stage", "outcome"})
	m.jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: JobRuns,
		Help: "Scheduled job runs, by job, kind and result (ok, failed, interrupted)."}, []string{"job", "kind", "result"})
	m.jobSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: JobSkipped,
		Help: "Scheduled slots skipped because the job's previous run was still going."}, []string{"job"})
	m.jobRunning = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: JobRunning, Help: "1 while the job runs."}, []string{"job"})
	m.webhook = prometheus.NewCounterVec(prometheus.CounterOpts{Name: WebhookSent,
		Help: "Webhook notices, by event and result (sent, failed, dry-run)."}, []string{"event", "result"})
	m.reg.MustRegister(m.scanDuration, m.scans, m.lastComplete, m.apiCalls, m.gaps, m.findings, m.campItems, m.campOverdue,
		m.campProgress, m.revocations, m.jobRuns, m.jobSkipped, m.jobRunning, m.webhook, governance{m})
	if process {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry is the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil})
}

// ScanFinished records a scan's result (complete, partial or failed) and
// duration; a complete scan sets the last-complete time to ended.
func (m *Metrics) ScanFinished(result string, took time.Duration, ended time.Time) {
	m.scanDuration.WithLabelValues(result).Observe(took.Seconds())
	m.scans.WithLabelValues(result).Inc()
	if result == "complete" {
		m.SetLastComplete(ended)
	}
}

// SetLastComplete sets when the last complete scan finished (from the
// store at start).
func (m *Metrics) SetLastComplete(t time.Time) {
	if !t.IsZero() {
		m.lastComplete.Set(float64(t.Unix()))
	}
}

// APICall counts one provider API call.
func (m *Metrics) APICall(provider, operation, status string) {
	m.apiCalls.WithLabelValues(provider, operation, status).Inc()
}

// SetLatestScan sets the gauges that describe the latest finished scan:
// its gaps by provider and hidden facet, and its open findings by family
// and severity. Only what that scan reported is counted.
func (m *Metrics) SetLatestScan(gaps []nhi.Gap, findings []nhi.Finding) {
	m.gaps.Reset()
	for _, g := range gaps {
		if len(g.Facets) == 0 {
			m.gaps.WithLabelValues(string(g.Provider), "scope").Inc()
			continue
		}
		for _, f := range g.Facets {
			m.gaps.WithLabelValues(string(g.Provider), string(f)).Inc()
		}
	}
	m.findings.Reset()
	for _, f := range findings {
		if f.Suppressed {
			continue
		}
		m.findings.WithLabelValues(f.Family, string(f.Severity)).Inc()
	}
}

// Campaign is one open campaign's progress.
type Campaign struct {
	ID                         string
	Items, Unanswered, Overdue int
}

// SetCampaigns replaces the open campaigns' progress.
func (m *Metrics) SetCampaigns(cs []Campaign) {
	m.campItems.Reset()
	m.campOverdue.Reset()
	m.campProgress.Reset()
	for _, c := range cs {
		m.campItems.WithLabelValues(c.ID, "decided").Set(float64(c.Items - c.Unanswered))
		m.campItems.WithLabelValues(c.ID, "unanswered").Set(float64(c.Unanswered))
		m.campOverdue.WithLabelValues(c.ID).Set(float64(c.Overdue))
		p := 1.0
		if c.Items > 0 {
			p = float64(c.Items-c.Unanswered) / float64(c.Items)
		}
		m.campProgress.WithLabelValues(c.ID).Set(p)
	}
}

// SetRevocations replaces the revocation counts: stage -> outcome -> n.
func (m *Metrics) SetRevocations(counts map[string]map[string]int) {
	m.revocations.Reset()
	for stage, by := range counts {
		for outcome, n := range by {
			m.revocations.WithLabelValues(stage, outcome).Set(float64(n))
		}
	}
}

// JobStarted, JobFinished and JobSkipped follow the scheduler's events.
func (m *Metrics) JobStarted(job string) { m.jobRunning.WithLabelValues(job).Set(1) }

// JobFinished records a run's result.
func (m *Metrics) JobFinished(job, kind, result string) {
	m.jobRunning.WithLabelValues(job).Set(0)
	m.jobRuns.WithLabelValues(job, kind, result).Inc()
}

// JobSkipped counts a skipped slot.
func (m *Metrics) JobSkipped(job string) { m.jobSkipped.WithLabelValues(job).Inc() }

// Webhook counts a webhook notice.
func (m *Metrics) Webhook(event, result string) { m.webhook.WithLabelValues(event, result).Inc() }

// SetGovernance replaces the catalog coverage samples.
func (m *Metrics) SetGovernance(s []Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.governance = append([]Sample(nil), s...)
	sort.SliceStable(m.governance, func(i, j int) bool { return m.governance[i].Name < m.governance[j].Name })
}

// governance exports the catalog coverage samples as they were computed.
type governance struct{ m *Metrics }

func (g governance) Describe(chan<- *prometheus.Desc) {} // unchecked: the names vary with the samples

func (g governance) Collect(ch chan<- prometheus.Metric) {
	g.m.mu.Lock()
	samples := g.m.governance
	g.m.mu.Unlock()
	for _, s := range samples {
		names := make([]string, len(s.Labels))
		values := make([]string, len(s.Labels))
		for i, l := range s.Labels {
			names[i], values[i] = l[0], l[1]
		}
		d := prometheus.NewDesc(s.Name, s.Help, names, nil)
		if mt, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, s.Value, values...); err == nil {
			ch <- mt
		}
	}
}
