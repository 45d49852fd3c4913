package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
	"github.com/nhiscan/nhiscan/collectors/github"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// The demo organisation's catalog and HR export, embedded so `go install`
// users have it too. The identities themselves are the seeds of the four
// in-process fakes (awsfake.Demo, azurefake.Demo, gcpfake.Demo,
// githubfake.Demo).
//
//go:embed demo
var demoFS embed.FS

func (a *app) demoCmd() *cobra.Command {
	var (
		out, listen string
		serve       bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on the built-in demo organisation (no cloud account needed)",
		Long: `demo starts in-process fakes of the AWS (IAM, STS, Organizations), Microsoft
Graph and Azure Resource Manager, Google Cloud (Asset Inventory, IAM, Policy
Analyzer, API Keys) and GitHub APIs, seeded with the Acme demo organisation,
and runs the real collectors against them. It scans a baseline, records it as
certified, changes a few things (a new write deploy key, S3 full access on a
certified role, a dormant access key deactivated and deleted), scans again and
writes the database, the HTML report and the evidence pack to --out.

With --serve it then opens a live campaign and serves the review page
(nhiscan serve) on --listen, printing one reviewer's link, until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if serve {
				if err := checkDemoListen(listen); err != nil {
					return err
				}
			}
			if err := a.demo(cmd.Context(), out); err != nil || !serve {
				return err
			}
			return a.demoServe(cmd.Context(), out, listen)
		},
	}
	cmd.Flags().StringVar(&out, "out", "nhiscan-demo", "directory for the demo's database, catalog, report and evidence")
	cmd.Flags().BoolVar(&serve, "serve", false, "then serve the review page of a live campaign until interrupted")
	cmd.Flags().StringVar(&listen, "listen", defaultListen, "address of the review page with --serve (a loopback address)")
	return cmd
}

// demoOrg is the running demo organisation: the fakes and collectors
// pointed at them.
type demoOrg struct {
	aws    *awsfake.Server
	azure  *azurefake.Server
	gcp    *gcpfake.Server
	github *githubfake.Server

	collectors []collectors.Collector
	// controls are the four providers' credential controls, built from the
	// collectors' configurations; the revocation story drives them.
	controls *controlSet
	// clock is the demo organisation's time (Unix nanoseconds): the
	// collectors' and the fakes' clocks read it, and the revocation story
	// moves it forward day by day.
	clock atomic.Int64
}

// setNow moves the demo organisation's clock.
func (d *demoOrg) setNow(t time.Time) { d.clock.Store(t.UnixNano()) }

func (d *demoOrg) now() time.Time { return time.Unix(0, d.clock.Load()).UTC() }

func (d *demoOrg) Close() {
	for _, c := range []interface{ Close() }{d.aws, d.azure, d.gcp, d.github} {
		if c != nil {
			c.Close()
		}
	}
}

// orgSeeds seeds the four fakes: the demo organisation, or a synthetic one
// for the scale benchmark.
type orgSeeds struct {
	aws        awsfake.Seed
	azure      azurefake.Seed
	gcp        gcpfake.Seed
	gcpConfig  func(*gcp.Config)
	github     githubfake.Seed
	githubOrgs []string
	// latency is injected into every call of every fake (benchmarks).
	latency time.Duration
	// fast shortens call timeouts, retry waits and the fakes' hang limit
	// (fault-injection tests, where calls are made to fail and hang).
	fast bool
}

// Fast settings for fault-injection tests: a hung call is given up after
// fastCallTimeout, retries wait about a millisecond.
const fastCallTimeout = 2 * time.Second

func demoSeeds(now time.Time) orgSeeds {
	return orgSeeds{
		aws: awsfake.Demo(now), azure: azurefake.Demo(now), gcp: gcpfake.Demo(now), github: githubfake.Demo(now),
		gcpConfig: func(c *gcp.Config) {
			c.Organization = gcpfake.DemoOrganization
			c.OwnerLabelDomain, c.DelegatedClientIDs = gcpfake.DemoOwnerLabelDomain, gcpfake.DemoDelegatedClientIDs
		},
		githubOrgs: []string{githubfake.DemoOrg, githubfake.DemoLabsOrg},
	}
}

// startDemoOrg starts the four fakes with the demo organisation and builds
// a collector for each. credDir receives the GitHub App key and token files
// (the *_file form a production configuration uses).
func (a *app) startDemoOrg(now time.Time, credDir string) (*demoOrg, error) {
	return a.startOrg(now, demoSeeds(now), credDir)
}

func (a *app) startOrg(now time.Time, seeds orgSeeds, credDir string) (*demoOrg, error) {
	d := &demoOrg{}
	d.setNow(now)
	clock := d.now
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()

	if seeds.aws.Now == nil {
		seeds.aws.Now = clock // credential reports are generated at the demo's time
	}
	d.aws = awsfake.New(seeds.aws)
	acfg := aws.Config{
		Organization: true, RoleName: awsfake.DemoRoleName, EndpointURL: d.aws.URL, HTTPClient: d.aws.Client(),
		Credentials: d.aws.CredentialsProvider(), ReportPollInterval: 10 * time.Millisecond, Now: clock, Logger: a.log, Progress: a.prog.scope,
		// The fake's Access Advisor jobs complete at once: no need to pace.
		LastAccessedRate: 1000, LastAccessedPollInterval: 10 * time.Millisecond,
	}
	if seeds.fast {
		acfg.CallTimeout, acfg.MaxRetryDelay = fastCallTimeout, time.Millisecond
	}
	awsc, err := aws.New(acfg)
	if err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}

	d.azure = azurefake.New(seeds.azure)
	azcfg := azure.Config{
		TenantID: d.azure.TenantID(), GraphURL: d.azure.URL, ResourceManagerURL: d.azure.URL,
		Credential: d.azure.Credential(), HTTPClient: d.azure.Client(), Now: clock, Logger: a.log, Progress: a.prog.scope,
	}
	if seeds.fast {
		azcfg.CallTimeout, azcfg.RetryBaseDelay = fastCallTimeout, time.Millisecond
	}
	azc, err := azure.New(azcfg)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}

	d.gcp = gcpfake.New(seeds.gcp)
	gcfg := gcp.Config{Endpoint: d.gcp.URL, HTTPClient: d.gcp.Client(), Now: clock, Logger: a.log, Progress: a.prog.scope}
	seeds.gcpConfig(&gcfg)
	if seeds.fast {
		gcfg.CallTimeout, gcfg.RetryBaseDelay, gcfg.MaxRetryDelay = fastCallTimeout, time.Millisecond, 5*time.Millisecond
	}
	gc, err := gcp.New(gcfg)
	if err != nil {
		return nil, fmt.Errorf("gcp: %w", err)
	}

	d.github = githubfake.New(seeds.github)
	d.github.SetNow(clock) // the App's JWT is checked against the demo's clock
	creds, err := d.github.WriteCredentials(credDir)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	ghcfg := github.Config{
		Orgs: seeds.githubOrgs, BaseURL: d.github.URL + "/",
		AppID: creds.AppID, AppPrivateKeyFile: creds.AppKeyFile, AppInstallationIDs: creds.InstallationID,
		TokenFile: creds.TokenFile, SkipSAMLAuthorizations: creds.TokenFile == "",
		HTTPClient: d.github.Client(), Cache: &a.etags, Now: clock, Logger: a.log, Progress: a.prog.scope,
	}
	if seeds.fast {
		ghcfg.CallTimeout, ghcfg.MaxRetryDelay = fastCallTimeout, time.Millisecond
	}
	ghc, err := github.New(ghcfg)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	d.controls = newControlSet(map[nhi.Provider]func() (controller, error){
		nhi.AWS:    func() (controller, error) { return aws.NewControls(acfg) },
		nhi.Azure:  func() (controller, error) { return azure.NewControls(azcfg) },
		nhi.GCP:    func() (controller, error) { return gcp.NewControls(gcfg) },
		nhi.GitHub: func() (controller, error) { return github.NewControls(ghcfg) },
	})
	if seeds.latency > 0 {
		d.aws.SetLatency(seeds.latency)
		d.azure.SetLatency(seeds.latency)
		d.gcp.SetLatency(seeds.latency)
		d.github.SetLatency(seeds.latency)
	}
	if seeds.fast {
		for _, f := range []interface{ SetHang(time.Duration) }{d.aws, d.azure, d.gcp, d.github} {
			f.SetHang(5 * time.Second)
		}
	}
	d.collectors = []collectors.Collector{awsc, azc, gc, ghc}
	ok = true
	return d, nil
}

func (a *app) demo(ctx context.Context, out string) error {
	now := a.now().UTC().Truncate(time.Second)
	if err := checkDemoDir(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, demoMarker), []byte("written by nhiscan demo; a rerun replaces this folder's demo files\n"), 0o644); err != nil {
		return err
	}
	// A rerun starts afresh: remove only what an earlier demo wrote.
	for _, name := range demoFiles {
		if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
			return err
		}
	}
	catDir := filepath.Join(out, "catalog")
	if err := copyFS(demoFS, "demo", catDir, strings.NewReplacer(
		"DEMO_IN_60_DAYS", now.AddDate(0, 0, 60).Format(time.DateOnly),
		"DEMO_1_DAY_AGO", now.AddDate(0, 0, -1).Format(time.DateOnly))); err != nil {
		return err
	}
	cat, err := catalog.Load(now, catDir)
	if err != nil {
		return fmt.Errorf("demo catalog: %w", err)
	}
	credDir := filepath.Join(out, "credentials")
	if err := os.MkdirAll(credDir, 0o700); err != nil {
		return err
	}
	org, err := a.startDemoOrg(now, credDir)
	if err != nil {
		return err
	}
	defer org.Close()

	dbPath := filepath.Join(out, "nhiscan.db")
	st, err := a.openStore(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	a.etags.st = st

	fmt.Fprintf(a.stdout, "nhiscan demo: the Acme organisation on in-process fakes of AWS, Azure/Entra, GCP and GitHub\n\n")
	first, err := a.scanOnce(ctx, st, cat, now, "demo", a.collectAll(org.collectors))
	if err != nil {
		return fmt.Errorf("demo baseline scan: %w", err)
	}
	fmt.Fprintf(a.stdout, "baseline: scan %d, %d identities, %d findings\n", first.scan.ID, len(first.inv.Identities), first.tally.total)
	// The owners review the baseline and sign it off: later grants are
	// drift since certification.
	cert := certificationOf(first.inv)
	cert.At = now
	if err := st.SaveCertification(ctx, cert); err != nil {
		return err
	}
	if err := st.Audit(ctx, store.AuditEntry{At: now, Actor: "demo-operator", Action: "certification.record",
		Subject: fmt.Sprintf("scan:%d", first.scan.ID), Detail: map[string]string{
			"certified_by": "grace.kim@acme.example", "note": "demo: quarterly NHI review signed off", "snapshot_sha256": first.scan.InventorySHA256,
		}}); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "  certified: grace.kim@acme.example signed off scan %d's entitlements\n", first.scan.ID)

	changes, err := a.demoChanges(org)
	if err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintf(a.stdout, "  change: %s\n", c)
	}
	fmt.Fprintln(a.stdout)

	second, err := a.scanOnce(ctx, st, cat, now, "demo", a.collectAll(org.collectors))
	if err != nil {
		return fmt.Errorf("demo scan: %w", err)
	}
	a.printSummary(a.stdout, second)
	if err := a.printDemoCoverage(ctx, st, second, cat, out); err != nil {
		return err
	}
	if err := a.demoCampaign(ctx, st, cat, second.scan.ID, out); err != nil {
		return err
	}
	campaignEv := filepath.Join(out, "evidence-campaign")
	if err := a.exportEvidence(ctx, st, evidenceArgs{id: second.scan.ID, out: campaignEv}, cat, nil); err != nil {
		return err
	}
	last, err := a.demoRevoke(ctx, st, cat, org, out)
	if err != nil {
		return err
	}
	return a.demoOutputs(ctx, st, cat, out, last.scan.ID, second.scan.ID)
}

// demoOutputs writes the HTML report and the evidence pack of the last
// scan and says where everything is (the campaign's pack is written by
// then).
func (a *app) demoOutputs(ctx context.Context, st *store.Store, cat *catalog.Catalog, out string, last, campaignScan int64) error {
	dbPath := filepath.Join(out, "nhiscan.db")
	report := filepath.Join(out, "report.html")
	if err := a.writeHTML(ctx, st, last, cat, report); err != nil {
		return err
	}
	evDir := filepath.Join(out, "evidence")
	if err := a.exportEvidence(ctx, st, evidenceArgs{id: last, out: evDir}, cat, nil); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nwritten:\n  database  %s\n  report    %s (scan %d)\n  evidence  %s (scan %d, with remediation.csv)\n            %s (scan %d, with the campaign's decisions)\n  catalog   %s\n",
		dbPath, report, last, evDir, last, filepath.Join(out, "evidence-campaign"), campaignScan, filepath.Join(out, "catalog"))
	fmt.Fprintf(a.stdout, "\nnext: nhiscan findings --db %s --family orphaned\n      nhiscan diff --db %s\n      nhiscan revoke status --db %s\n      nhiscan audit verify --db %s\n",
		dbPath, dbPath, dbPath, dbPath)
	return nil
}

// demoMarker marks a folder the demo wrote, so a rerun may replace its
// files.
const demoMarker = ".nhiscan-demo"

// demoFiles are the files and folders the demo writes in --out, which a
// rerun removes first.
var demoFiles = []string{"nhiscan.db", "nhiscan.db-wal", "nhiscan.db-shm", "nhiscan.db.lock", "nhiscan.db.revoke.lock", "report.html", "evidence",
	"evidence-campaign", "notices", "catalog", "credentials"}

// checkDemoDir refuses an --out folder that holds files but was not written
// by the demo: a rerun removes nhiscan.db, catalog/, evidence/… there, which
// must never hit a real deployment's database or catalog.
func checkDemoDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("--out %s: %v", dir, err)
	}
	if len(ents) == 0 || fileExists(filepath.Join(dir, demoMarker)) {
		return nil
	}
	// A folder from a demo before the marker: only demo files, with the
	// demo's fake GitHub App key.
	own := true
	for _, e := range ents {
		own = own && slices.Contains(demoFiles, e.Name())
	}
	if own && fileExists(filepath.Join(dir, "credentials", "github-app.pem")) {
		return nil
	}
	return usagef("--out %s is not empty and was not written by 'nhiscan demo': name a new or empty folder", dir)
}

// demoChanges alters the demo organisation between the two scans, through
// the providers' own APIs, so the second scan shows drift.
func (a *app) demoChanges(org *demoOrg) ([]string, error) {
	var changes []string
	// 1. Someone adds a write deploy key to the payments repository.
	key := githubfake.DeployKey{ID: 819999, Title: "hotfix-laptop", Key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIhotfixlaptopdemokey0000000000000000000 demo",
		ReadOnly: false, Created: a.now().UTC(), AddedBy: "hadams"}
	if err := org.github.AddDeployKey(githubfake.DemoOrg, "payments-api", key); err != nil {
		return nil, fmt.Errorf("demo change: %w", err)
	}
	changes = append(changes, "github: hadams added a write deploy key 'hotfix-laptop' to acme/payments-api")

	// 2. Someone attaches S3 full access to the payments runtime role,
	// after the owners certified it.
	org.aws.Mutate(awsfake.DemoPayments, func(acct *awsfake.Account) {
		for i := range acct.Roles {
			if acct.Roles[i].Name == "payments-api-runtime" {
				acct.Roles[i].Attached = append(acct.Roles[i].Attached, "arn:aws:iam::aws:policy/AmazonS3FullAccess")
			}
		}
	})
	changes = append(changes, "aws: AmazonS3FullAccess attached to the certified role payments-api-runtime")

	return changes, nil
}

// copyFS copies the files under root in fsys to dir, expanding the demo's
// date placeholders.
func copyFS(fsys fs.FS, root, dir string, r *strings.Replacer) error {
	return fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(r.Replace(string(b))), 0o644)
	})
}
