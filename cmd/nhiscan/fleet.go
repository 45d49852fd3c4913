package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/fleet"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// The wiring of `nhiscan worker` (internal/fleet runs it as River jobs on
// PostgreSQL): which scopes a scan divides into, how one scope is
// collected, and where a merged scan goes.
//
// A scope is the unit a provider's collection can be split at without
// changing what it judges: an AWS account (each job is told every account
// the organisation lists, so a trust policy naming a sibling is not
// external), a GitHub organisation, the Azure tenant with its
// subscriptions (Entra and ARM are joined per service principal), and the
// GCP section (the organisation's asset search and the external accounts
// are judged across its projects).

// fleetDSN is the PostgreSQL URL of River's and the fleet's tables.
func fleetDSN(cfg config.Config) (string, error) {
	if cfg.Fleet.DatabaseFile != "" {
		for _, f := range cfg.FilesOf("") {
			if f.Key != "fleet.database_file" {
				continue
			}
			b, err := f.Read()
			if err != nil {
				return "", usageError{err}
			}
			return strings.TrimSpace(string(b)), nil
		}
	}
	if isPostgresURL(cfg.Database) {
		return cfg.Database, nil
	}
	return "", usagef("nhiscan worker needs PostgreSQL: set fleet.database_file to a file holding its postgres:// URL")
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openFleetPool connects to the fleet's PostgreSQL and migrates it. An
// error never quotes the URL: it carries a password.
func (a *app) openFleetPool(ctx context.Context, cfg config.Config) (*pgxpool.Pool, error) {
	dsn, err := fleetDSN(cfg)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, usagef("fleet database: not a PostgreSQL URL (postgres://user@host:5432/db)")
	}
	// Each running job holds a connection (a finalisation for as long as it
	// runs), and River's notifier, elector and producer need their own.
	if !strings.Contains(dsn, "pool_max_conns") {
		pc.MaxConns = max(pc.MaxConns, int32(cfg.Fleet.Defaults().Concurrency)+8)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("fleet database: %w", err)
	}
	if err := fleet.Migrate(ctx, pool, a.log); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// startFleet joins this process to the worker fleet: it checks every
// provider section, connects to and migrates PostgreSQL, and starts
// working jobs. stop lets running jobs finish for workerStopGrace, then
// cancels them (River retries them elsewhere) and closes the pool.
// `nhiscan worker` runs it; serve may run it too when fleet is configured.
func (a *app) startFleet(ctx context.Context, cfg config.Config, ownerTagKeys []string) (stop func() error, err error) {
	// A replica that cannot build its collectors would only fail its jobs.
	if _, err := a.buildCollectors(cfg, ownerTagKeys); err != nil {
		return nil, err
	}
	pool, err := a.openFleetPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fc, err := a.fleetConfig(cfg, pool, ownerTagKeys, true)
	var f *fleet.Fleet
	if err == nil {
		f, err = fleet.New(fc)
	}
	if err == nil {
		err = f.Start(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	a.log.Info("fleet worker started", "digest", fc.Digest, "concurrency", fc.Concurrency, "schedules", len(fc.Schedules))
	return func() error {
		defer pool.Close()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), workerStopGrace)
		defer cancel()
		if err := f.Stop(sctx); err == nil {
			return nil
		}
		cctx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), workerStopGrace)
		defer cancel2()
		if err := f.StopAndCancel(cctx); err != nil {
			return fmt.Errorf("worker stop: %w", err)
		}
		return nil
	}, nil
}

// fleetConfig is the fleet's wiring for this configuration. work makes a
// replica that runs jobs; otherwise the client only enqueues and reads.
func (a *app) fleetConfig(cfg config.Config, pool *pgxpool.Pool, ownerTagKeys []string, work bool) (fleet.Config, error) {
	fc := cfg.Fleet.Defaults()
	out := fleet.Config{
		Pool: pool, Work: work, Digest: fleetDigest(cfg, ownerTagKeys),
		Concurrency: fc.Concurrency, MaxAttempts: fc.MaxAttempts, JobTimeout: fc.JobTimeout, RescueAfter: fc.RescueAfter,
		Logger: a.log, Now: a.now,
		Plan:     a.fleetPlan(cfg, ownerTagKeys),
		Collect:  a.fleetCollect(cfg, ownerTagKeys),
		Finalize: a.fleetFinalize(cfg),
	}
	for _, spec := range fc.Schedules {
		s, err := config.CronParser.Parse(spec)
		if err != nil {
			return out, usagef("fleet.schedules: %q: %v", spec, err)
		}
		out.Schedules = append(out.Schedules, fleet.Schedule{Spec: spec, Next: s})
	}
	return out, nil
}

// fleetDigest names what a scope's collection depends on: the provider
// sections and the owner tag keys. A replica with another digest refuses
// the scan's jobs.
func fleetDigest(cfg config.Config, ownerTagKeys []string) string {
	b, _ := json.Marshal(struct {
		P config.Providers
		K []string
	}{cfg.Providers, ownerTagKeys})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// fleetPlan lists a scan's scopes.
func (a *app) fleetPlan(cfg config.Config, ownerTagKeys []string) fleet.Planner {
	return func(ctx context.Context) ([]fleet.Scope, error) {
		p := cfg.Providers
		var out []fleet.Scope
		if p.AWS != nil {
			c, err := a.awsCollector(p.AWS, cfg.FilesOf("aws"), ownerTagKeys)
			if err != nil {
				return nil, sectionError(nhi.AWS, err, cfg.FilesOf("aws"))
			}
			scopes, known, err := c.Accounts(ctx)
			if err != nil {
				return nil, err
			}
			for _, s := range scopes {
				out = append(out, fleet.Scope{Provider: nhi.AWS, ID: s.ID, Name: s.Name, Peers: known})
			}
		}
		if p.Azure != nil {
			out = append(out, fleet.Scope{Provider: nhi.Azure, ID: cmp.Or(p.Azure.TenantID, "tenant")})
		}
		if p.GCP != nil {
			out = append(out, fleet.Scope{Provider: nhi.GCP, ID: cmp.Or(p.GCP.Organization, "configured")})
		}
		if p.GitHub != nil {
			for _, org := range p.GitHub.Organizations {
				out = append(out, fleet.Scope{Provider: nhi.GitHub, ID: org})
			}
		}
		if len(out) == 0 {
			return nil, errors.New("no providers configured")
		}
		return out, nil
	}
}

// fleetCollect collects one scope with the provider's collector, its
// configuration narrowed to that scope.
func (a *app) fleetCollect(cfg config.Config, ownerTagKeys []string) fleet.ScopeCollector {
	return func(ctx context.Context, s fleet.Scope) (nhi.Inventory, error) {
		c, err := a.scopeCollector(cfg, ownerTagKeys, s)
		if err != nil {
			return nhi.Inventory{}, err
		}
		start := a.now()
		a.prog.start(s.Provider)
		inv, err := c.Collect(ctx)
		a.prog.done(s.Provider, inv, err, a.now().Sub(start))
		if err != nil {
			return inv, err
		}
		// The organisation's listing named the account; a job collecting
		// the account alone does not list it again.
		for i := range inv.Scopes {
			if inv.Scopes[i].ID == s.ID && inv.Scopes[i].Name == "" {
				inv.Scopes[i].Name = s.Name
			}
		}
		return inv, nil
	}
}

func (a *app) scopeCollector(cfg config.Config, ownerTagKeys []string, s fleet.Scope) (collectors.Collector, error) {
	p := cfg.Providers
	switch {
	case s.Provider == nhi.AWS && p.AWS != nil:
		ac, err := a.awsConfig(p.AWS, cfg.FilesOf("aws"), ownerTagKeys)
		if err != nil {
			return nil, err
		}
		ac.Organization, ac.Accounts, ac.TrustedAccounts = false, nil, s.Peers
		if s.ID != "" {
			ac.Accounts = []string{s.ID}
		}
		return aws.New(ac)
	case s.Provider == nhi.Azure && p.Azure != nil:
		return a.azureCollector(p.Azure, ownerTagKeys)
	case s.Provider == nhi.GCP && p.GCP != nil:
		return a.gcpCollector(p.GCP, ownerTagKeys)
	case s.Provider == nhi.GitHub && p.GitHub != nil:
		gc := *p.GitHub
		gc.Organizations = []string{s.ID}
		return a.githubCollector(&gc, ownerTagKeys)
	}
	return nil, fmt.Errorf("%s is not configured on this worker", s.Key())
}

// fleetFinalize stores a merged scan through the one-process pipeline
// (scanOnce: analyse, lifecycle, store, audit) in the configured database.
// The scan's source names the fleet scan, so a finalisation repeated after
// a worker died between storing and claiming is recognised and skipped.
func (a *app) fleetFinalize(cfg config.Config) fleet.Finalizer {
	return func(ctx context.Context, s fleet.Scan, inv nhi.Inventory) error {
		at, err := a.evalTime()
		if err != nil {
			return err
		}
		cat, err := a.loadCatalog(cfg, nil, at)
		if err != nil {
			return err
		}
		st, release, err := a.openFleetStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer release()
		source := fleetSource(s.ID)
		if done, err := storedScan(ctx, st, source); err != nil || done != 0 {
			if done != 0 {
				a.log.Info("fleet scan already stored", "fleet_scan", s.ID, "scan", done)
			}
			return err
		}
		if inv.CollectedAt.IsZero() {
			inv.CollectedAt = a.now().UTC()
		}
		out, err := a.scanOnce(ctx, st, cat, at, source, func(context.Context) (nhi.Inventory, error) { return inv, nil })
		if err != nil {
			if collectedNothing(&inv) != "" {
				return fleet.Permanent(err)
			}
			return err
		}
		a.log.Info("fleet scan stored", "fleet_scan", s.ID, "scan", out.scan.ID, "status", string(out.scan.Status),
			"identities", len(out.inv.Identities), "gaps", len(out.inv.Gaps), "findings", out.tally.total)
		return nil
	}
}

// openFleetStore opens the database finished fleet scans are stored in:
// the configured one, a PostgreSQL store when database (or database_file,
// NHISCAN_DATABASE) is a postgres:// DSN, else the SQLite file on a volume
// the replicas share. In nhiscan serve it is serve's own store, which
// holds the history's writer lock for its whole life. Another writer (a
// finalisation of another scan, a manual command) makes it wait up to
// fleetStoreWait; a writer still there then (nhiscan serve, holding the
// lock for its life) makes the finalisation Busy, so the job is snoozed
// for the replica that holds the store. release closes what it opened.
func (a *app) openFleetStore(ctx context.Context, cfg config.Config) (st *store.Store, release func(), err error) {
	if a.fleetStore != nil {
		a.fleetStoreMu.Lock()
		return a.fleetStore, a.fleetStoreMu.Unlock, nil
	}
	deadline := time.Now().Add(fleetStoreWait)
	for {
		st, err := a.openStore(ctx, cfg.Database)
		if err == nil {
			return st, func() { st.Close() }, nil
		}
		if !errors.Is(err, store.ErrScanRunning) {
			return nil, nil, err
		}
		if time.Now().After(deadline) {
			return nil, nil, fleet.Busy(err)
		}
		a.log.Info("fleet finalisation waits for the store's writer lock", "error", err)
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w (waited until the job's timeout)", err)
		case <-time.After(fleetStoreRetry):
		}
	}
}

// fleetStoreWait is how long a finalisation waits for the store's writer
// lock before it leaves the job to another replica.
const fleetStoreWait = 30 * time.Second

// fleetStoreRetry is how often a finalisation tries the store's writer
// lock again.
const fleetStoreRetry = time.Second

func fleetSource(id int64) string { return fmt.Sprintf("fleet:%d", id) }

// storedScan returns the id of the stored scan (complete or partial) of
// source, 0 when none.
func storedScan(ctx context.Context, st *store.Store, source string) (int64, error) {
	scans, err := st.Scans(ctx)
	if err != nil {
		return 0, err
	}
	for _, sc := range scans {
		if sc.Source == source && (sc.Status == store.ScanComplete || sc.Status == store.ScanPartial) {
			return sc.ID, nil
		}
	}
	return 0, nil
}

// fleetWait is how often the enqueue command polls a scan it waits for.
const fleetWait = 200 * time.Millisecond
