package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/metrics"
	"github.com/nhiscan/nhiscan/internal/schedule"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/webhook"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// service is nhiscan serve's service mode: the scheduled jobs over serve's
// own store (it holds the single-writer lock for the process's life, so
// jobs never open another), the metrics, the webhook, and the health
// endpoints. Its configuration and catalog are replaced on SIGHUP; a
// reload that fails keeps the old ones.
type service struct {
	a       *app
	st      *store.Store
	metrics *metrics.Metrics
	sched   *schedule.Scheduler
	// collectors builds a scan's collectors (tests replace it).
	collectors func(*app, config.Config, *catalog.Catalog) ([]collectors.Collector, error)

	mu   sync.RWMutex
	cfg  config.Config
	cat  *catalog.Catalog
	hook *webhook.Sender
	// ready is set once the store, config and catalog are in place and
	// the metrics were read from the store.
	ready atomic.Bool
	// lastReload is the error of the last reload ("" after a good one).
	lastReload atomic.Value
}

// newService builds the service from a loaded configuration and catalog
// (the catalog may be nil: then only scan jobs are refused).
func (a *app) newService(ctx context.Context, st *store.Store, cfg config.Config, cat *catalog.Catalog) (*service, error) {
	s := &service{a: a, st: st, metrics: metrics.New(true),
		collectors: func(a *app, cfg config.Config, cat *catalog.Catalog) ([]collectors.Collector, error) {
			return a.buildCollectors(cfg, cat.Defaults.OwnerTagKeys)
		}}
	s.lastReload.Store("")
	if err := s.apply(cfg, cat); err != nil {
		return nil, err
	}
	sched, err := schedule.New(s.jobs(), s.schedOptions())
	if err != nil {
		return nil, err
	}
	s.sched = sched
	s.refreshMetrics(ctx)
	s.ready.Store(true)
	return s, nil
}

// apply validates what the configuration's jobs and webhook need and
// installs cfg and cat; on error nothing changes.
func (s *service) apply(cfg config.Config, cat *catalog.Catalog) error {
	for _, j := range cfg.Schedules.Jobs {
		if cat == nil && j.Job != config.JobCampaignSend {
			return usagef("schedules: job %s (%s) needs the catalog: set 'catalog' in the configuration", j.Name, j.Job)
		}
	}
	var hook *webhook.Sender
	if w := cfg.Webhook; w.URLFile != "" || s.a.getenv("NHISCAN_WEBHOOK_URL") != "" {
		url := s.a.getenv("NHISCAN_WEBHOOK_URL")
		if w.URLFile != "" {
			b, err := os.ReadFile(w.URLFile)
			if err != nil {
				// The error names the file setting, never its content.
				return usagef("webhook.url_file: cannot read it")
			}
			url = strings.TrimSpace(string(b))
		}
		if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://127.0.0.1") && !strings.HasPrefix(url, "http://localhost") {
			return usagef("webhook URL must be https (http only to this host)")
		}
		hook = &webhook.Sender{URL: url, Journal: s.st, Retries: max(w.Retries, 0), DryRun: w.DryRun, Now: s.a.now,
			Client: &http.Client{Timeout: cmp.Or(w.Timeout, 10*time.Second)}}
	}
	s.mu.Lock()
	s.cfg, s.cat, s.hook = cfg, cat, hook
	s.mu.Unlock()
	return nil
}

// current returns the configuration and catalog in force.
func (s *service) current() (config.Config, *catalog.Catalog, *webhook.Sender) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg, s.cat, s.hook
}

func (s *service) schedOptions() schedule.Options {
	cfg, _, _ := s.current()
	return schedule.Options{State: scheduleState{s.st}, Log: s.a.log, Jitter: cfg.Schedules.Jitter, Grace: cfg.Schedules.Grace,
		Observe: s.observe}
}

// observe turns the scheduler's events into metrics.
func (s *service) observe(e schedule.Event) {
	switch e.Kind {
	case schedule.Started:
		s.metrics.JobStarted(e.Job)
	case schedule.Skipped:
		s.metrics.JobSkipped(e.Job)
	case schedule.Finished:
		result := "ok"
		switch {
		case errors.Is(e.Err, context.Canceled):
			result = "interrupted"
		case e.Err != nil:
			result = "failed"
		}
		s.metrics.JobFinished(e.Job, e.Type, result)
	}
}

// reload re-reads the configuration and catalog (SIGHUP): the jobs, their
// jitter and grace, the webhook and what jobs read. Any error keeps the
// old ones, is logged and shown by /readyz's body; the listeners, TLS and
// OIDC settings of the review page need a restart.
func (s *service) reload(ctx context.Context, catalogs []string) error {
	err := s.tryReload(catalogs)
	if err != nil {
		s.lastReload.Store(err.Error())
		s.a.log.Error("reload failed: keeping the configuration and catalog in force", "err", err)
		return err
	}
	s.lastReload.Store("")
	s.refreshMetrics(ctx)
	s.a.log.Info("reloaded the configuration and catalog", "jobs", len(s.sched.Jobs()))
	return nil
}

func (s *service) tryReload(catalogs []string) error {
	cfg, err := config.LoadWithFlags(s.a.configFile(), s.a.getenv, s.a.configFlags)
	if err != nil {
		return err
	}
	if s.a.dbPath != "" {
		cfg.Database = s.a.dbPath
	}
	old, _, _ := s.current()
	if cfg.Database != old.Database {
		return fmt.Errorf("database changed from %s to %s: restart nhiscan serve to use another database", old.Database, cfg.Database)
	}
	cat, err := s.a.optionalCatalog(cfg, catalogs)
	if err != nil {
		return err
	}
	prev, prevCat, _ := s.current()
	if err := s.apply(cfg, cat); err != nil {
		return err
	}
	if err := s.sched.Update(s.jobs()); err != nil {
		_ = s.apply(prev, prevCat)
		return err
	}
	s.sched.SetTiming(cfg.Schedules.Jitter, cfg.Schedules.Grace)
	return nil
}

// configFile is the configuration path loadConfig reads.
func (a *app) configFile() string {
	path := a.configPath
	if path == "" {
		path = a.getenv("NHISCAN_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("nhiscan.yaml"); err == nil {
			path = "nhiscan.yaml"
		}
	}
	return path
}

// run runs the scheduler until ctx ends, reloading on each hangup.
func (s *service) run(ctx context.Context, hangups <-chan os.Signal, catalogs []string) error {
	done := make(chan error, 1)
	go func() { done <- s.sched.Run(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-hangups:
			_ = s.reload(ctx, catalogs)
		}
	}
}

// hangups delivers SIGHUP (tests set a.hangups instead).
func (a *app) hangupSignals() (<-chan os.Signal, func()) {
	if a.hangups != nil {
		return a.hangups, func() {}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// healthHandlers adds /healthz, /readyz and /metrics to mux. /healthz
// answers while the process serves; /readyz once the store is open and the
// configuration and catalog loaded (its body names a failed reload, which
// keeps the old ones in force and stays ready).
func (s *service) healthHandlers(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("starting\n"))
			return
		}
		msg := "ready\n"
		if e, _ := s.lastReload.Load().(string); e != "" {
			msg = "ready (the last reload failed; the previous configuration is in force)\n"
		}
		_, _ = w.Write([]byte(msg))
	})
	mux.Handle("GET /metrics", s.metrics.Handler())
}

// scheduleState keeps the scheduler's last runs in the store.
type scheduleState struct{ st *store.Store }

func (s scheduleState) LastOK(ctx context.Context, job string) (time.Time, bool, error) {
	r, ok, err := s.st.LastScheduleRun(ctx, job)
	if err != nil || !ok || r.OKSlot.IsZero() {
		return time.Time{}, false, err
	}
	return r.OKSlot, true, nil
}

func (s scheduleState) Begin(ctx context.Context, job string, slot, started time.Time) error {
	return s.st.BeginScheduleRun(ctx, job, slot, started)
}

func (s scheduleState) End(ctx context.Context, job string, ended time.Time, status, detail string) error {
	return s.st.EndScheduleRun(ctx, job, ended, status, detail)
}

// scanIDHandler adds scan_id to every record once the scan has begun.
type scanIDHandler struct {
	slog.Handler
	id *atomic.Int64
}

func (h scanIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := h.id.Load(); id != 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int64("scan_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h scanIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return scanIDHandler{h.Handler.WithAttrs(as), h.id}
}

func (h scanIDHandler) WithGroup(name string) slog.Handler {
	return scanIDHandler{h.Handler.WithGroup(name), h.id}
}

// withScanLog returns a copy of a whose log lines (its own, the progress
// display's and the collectors') carry scan_id once scanOnce has begun
// the scan.
func (a *app) withScanLog() *app {
	c := *a
	c.tagScanLogs()
	return &c
}

// tagScanLogs makes a's log lines carry scan_id once scanOnce has begun
// the scan (nhiscan scan, after the configuration set the log format).
func (a *app) tagScanLogs() {
	id := &atomic.Int64{}
	a.log = slog.New(scanIDHandler{a.log.Handler(), id})
	a.scanBegun = func(n int64) { id.Store(n) }
	a.prog = a.newProgress()
}
