package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/web"
)

// defaultListen is where serve listens without a serve.listen setting:
// this host only, so clear text is acceptable.
const defaultListen = "127.0.0.1:8080"

func (a *app) serveCmd() *cobra.Command {
	var (
		listen, cert, key, publicURL string
		proxies, catalogs            []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the review page that campaign links open, and the campaign owner's view",
		Long: `serve hosts the review page: a reviewer opens the signed link of their campaign
email and certifies, revokes, reduces or reassigns their items in the browser
(every decision is validated by the campaign and audited with the reviewer, the
time and the client address). With OpenID Connect configured (serve.oidc),
campaign owners sign in to see status, KPIs, overdue reviewers, escalations and
the decision log, and reviewers may sign in instead of using links.

Without TLS it listens on ` + defaultListen + ` (this host only). To be reached
from elsewhere, give it a certificate (--tls-cert, --tls-key) or run it behind a
TLS-terminating proxy named with --trusted-proxy, whose X-Forwarded-For or
Forwarded header then names the client. It serves until interrupted
(docs/review-page.md).

As a service it also runs the jobs of the schedules section (scans, campaign
creation, sending, reminders and escalations, revocation stages) over its own
database, answers /healthz, /readyz and /metrics (Prometheus; on
metrics.listen when set), and posts new critical findings and escalations to
the webhook section's URL. SIGTERM lets a running job finish within
schedules.grace, then cancels it (a cancelled scan is marked failed); SIGHUP
reloads the configuration and catalog, keeping the old ones on any error
(README, "Running as a service").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.configFlags = []config.Flag{
				{Name: "--listen", Key: []string{"serve", "listen"}, Value: listen},
				{Name: "--tls-cert", Key: []string{"serve", "tls_cert_file"}, Value: cert},
				{Name: "--tls-key", Key: []string{"serve", "tls_key_file"}, Value: key},
				{Name: "--public-url", Key: []string{"serve", "public_url"}, Value: publicURL},
				{Name: "--trusted-proxy", Key: []string{"serve", "trusted_proxies"}, Value: strings.Join(proxies, ",")},
			}
			return a.serve(cmd.Context(), catalogs)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "", "address to listen on, host:port (default: config serve.listen, else "+defaultListen+")")
	fl.StringVar(&cert, "tls-cert", "", "PEM certificate chain: serve TLS (with --tls-key)")
	fl.StringVar(&key, "tls-key", "", "PEM private key of --tls-cert")
	fl.StringVar(&publicURL, "public-url", "", "the origin people reach the server at, https://nhiscan.example (cookies are Secure with https)")
	fl.StringSliceVar(&proxies, "trusted-proxy", nil, "network of a proxy in front (CIDR or address; repeatable): only it may name the client in X-Forwarded-For or Forwarded")
	fl.StringSliceVar(&catalogs, "catalog", nil, "catalog for people, reassignment and escalation (default: config 'catalog')")
	return cmd
}

// serveLockWait is how long serve waits at start for the database's
// writer lock while a scan or command started elsewhere finishes with it.
const serveLockWait = 15 * time.Minute

// serve runs the review server, the scheduled jobs and the health and
// metrics endpoints over the configured database until ctx ends (SIGTERM,
// Ctrl-C); SIGHUP reloads the configuration and catalog (service.go).
func (a *app) serve(ctx context.Context, catalogs []string) error {
	a.lockWait = serveLockWait
	return a.withCampaigns(ctx, readWrite, catalogs, true, func(e *campaignEnv) error {
		// A reload re-reads the file; the logger chosen now stays.
		if a.logFormat == "" {
			a.logFormat = cmp.Or(e.cfg.LogFormat, "text")
		}
		mux := http.NewServeMux()
		review, err := a.reviewHandler(ctx, e)
		if err != nil {
			return err
		}
		if review == nil && len(e.cfg.Schedules.Jobs) == 0 && !e.cfg.Fleet.Set {
			return usagef("nothing to serve: set campaigns.link_key_file (or NHISCAN_LINK_KEY) for review links, serve.oidc for sign-in, schedules.jobs, or fleet")
		}
		if review != nil {
			mux.Handle("/", review)
		}
		svc, err := a.newService(ctx, e.st, e.cfg, e.cat)
		if err != nil {
			return err
		}
		ln, err := a.listen(ctx, e.cfg.Serve)
		if err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		if m := e.cfg.Metrics.Listen; m != "" {
			mmux := http.NewServeMux()
			svc.healthHandlers(mmux)
			mln, err := a.listen(ctx, config.Serve{Listen: m})
			if err != nil {
				ln.Close()
				return err
			}
			a.log.Info("metrics and health endpoints", "address", mln.local)
			g.Go(func() error { return a.serveOn(gctx, mln, mmux, false) })
		} else {
			svc.healthHandlers(mux)
		}
		if review != nil {
			fmt.Fprintf(a.stdout, "nhiscan serve: review page %s/review, owner's view %s/owner (interrupt to stop)\n", ln.base, ln.base)
		}
		fmt.Fprintf(a.stdout, "nhiscan serve: %d scheduled job(s); /healthz, /readyz, /metrics (SIGHUP reloads the configuration and catalog)\n", len(e.cfg.Schedules.Jobs))
		hangups, stop := a.hangupSignals()
		defer stop()
		if e.cfg.Fleet.Set {
			stopFleet, err := a.joinFleet(ctx, e)
			if err != nil {
				ln.Close()
				return err
			}
			defer stopFleet()
		}
		g.Go(func() error { return a.serveOn(gctx, ln, mux, true) })
		g.Go(func() error { return svc.run(gctx, hangups, catalogs) })
		return g.Wait()
	})
}

// joinFleet makes serve one replica of the worker fleet (a fleet section
// is configured): it takes jobs like `nhiscan worker`, and finalises scans
// into serve's own store, which holds the history's writer lock for its
// whole life (a replica that cannot take the lock leaves the finalisation
// to one that can: fleet.Busy).
func (a *app) joinFleet(ctx context.Context, e *campaignEnv) (stop func(), err error) {
	a.fleetStore, a.fleetStoreMu = e.st, new(sync.Mutex)
	stopFleet, err := a.startFleet(ctx, e.cfg, e.cat.Defaults.OwnerTagKeys)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.stdout, "nhiscan serve: a replica of the worker fleet (fleet section)\n")
	return func() {
		if err := stopFleet(); err != nil {
			a.log.Warn("fleet stop", "error", err)
		}
	}, nil
}

// reviewHandler is the review page and owner's view, or nil when neither
// review links nor sign-in are configured.
func (a *app) reviewHandler(ctx context.Context, e *campaignEnv) (http.Handler, error) {
	s := e.cfg.Serve
	wc := web.Config{Campaigns: web.Service{Service: e.svc, Lister: e.st}, Signer: e.svc.Signer, People: e.cat.People,
		TrustedProxies: s.TrustedProxies, Secure: s.TLSCertFile != "" || strings.HasPrefix(s.PublicURL, "https://"), Now: a.now, Log: a.log}
	if o := s.OIDC; o != nil {
		wc.OIDC = &web.OIDC{Issuer: o.Issuer, ClientID: o.ClientID, RedirectURL: o.RedirectURL, AllowedOwners: o.AllowedOwners, Reviewers: o.Reviewers}
		if o.ClientSecretFile != "" {
			b, err := os.ReadFile(o.ClientSecretFile)
			if err != nil {
				return nil, usagef("serve.oidc.client_secret_file: %v", err)
			}
			wc.OIDC.ClientSecret = strings.TrimSpace(string(b))
		}
	}
	if wc.Signer == nil && wc.OIDC == nil {
		return nil, nil
	}
	if r := e.cfg.Campaigns.ReviewURL; r != "" && s.PublicURL != "" && !strings.HasPrefix(r, s.PublicURL+"/review") {
		a.log.Warn("campaigns.review_url does not point at this server's review page", "review_url", r, "want", s.PublicURL+"/review")
	}
	srv, err := web.New(ctx, wc)
	if err != nil {
		return nil, err
	}
	return srv.Handler(), nil
}

// listener is an open listener with the URLs it is reached at.
type listener struct {
	net.Listener
	// base is the address people reach it at (public_url, else local);
	// local is scheme://host:port as bound.
	base, local string
}

// listen opens the configured address (TLS when a certificate is
// configured).
func (a *app) listen(ctx context.Context, s config.Serve) (*listener, error) {
	addr := s.Listen
	if addr == "" {
		addr = defaultListen
	}
	var tlsConfig *tls.Config
	if s.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			return nil, usagef("serve TLS certificate: %v", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig), "https"
	}
	l := &listener{Listener: ln, base: s.PublicURL, local: scheme + "://" + ln.Addr().String()}
	if l.base == "" {
		l.base = l.local
	}
	return l, nil
}

// serveOn serves h on ln until ctx ends, then shuts down gracefully. The
// served hook (tests) hears the main listener's address once it serves.
func (a *app) serveOn(ctx context.Context, ln *listener, h http.Handler, main bool) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if a.served != nil && main {
		a.served(ln.local)
	}
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if main {
		fmt.Fprintln(a.stdout, "nhiscan serve: stopped")
	}
	return nil
}
