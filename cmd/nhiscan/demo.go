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
	"github.com/nhiscan/nhiscan/rules"
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
	// awsControls performs the demo's credential control, built from the
	// AWS collector's configuration.
	awsControls *aws.Controls
}

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
}

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
	clock := func() time.Time { return now }
	d := &demoOrg{}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()

	d.aws = awsfake.New(seeds.aws)
	acfg := aws.Config{
		Organization: true, RoleName: awsfake.DemoRoleName, EndpointURL: d.aws.URL, HTTPClient: d.aws.Client(),
		Credentials: d.aws.CredentialsProvider(), ReportPollInterval: 10 * time.Millisecond, Now: clock, Logger: a.log, Progress: a.prog.scope,
	}
	awsc, err := aws.New(acfg)
	if err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	if d.awsControls, err = aws.NewControls(acfg); err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}

	d.azure = azurefake.New(seeds.azure)
	azc, err := azure.New(azure.Config{
		TenantID: d.azure.TenantID(), GraphURL: d.azure.URL, ResourceManagerURL: d.azure.URL,
		Credential: d.azure.Credential(), HTTPClient: d.azure.Client(), Now: clock, Logger: a.log, Progress: a.prog.scope,
	})
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}

	d.gcp = gcpfake.New(seeds.gcp)
	gcfg := gcp.Config{Endpoint: d.gcp.URL, HTTPClient: d.gcp.Client(), Now: clock, Logger: a.log, Progress: a.prog.scope}
	seeds.gcpConfig(&gcfg)
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
	ghc, err := github.New(github.Config{
		Orgs: seeds.githubOrgs, BaseURL: d.github.URL + "/",
		AppID: creds.AppID, AppPrivateKeyFile: creds.AppKeyFile, AppInstallationIDs: creds.InstallationID,
		TokenFile: creds.TokenFile, SkipSAMLAuthorizations: creds.TokenFile == "",
		HTTPClient: d.github.Client(), Cache: &a.etags, Now: clock, Logger: a.log, Progress: a.prog.scope,
	})
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	if seeds.latency > 0 {
		d.aws.SetLatency(seeds.latency)
		d.azure.SetLatency(seeds.latency)
		d.gcp.SetLatency(seeds.latency)
		d.github.SetLatency(seeds.latency)
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
	fmt.Fprintf(a.stdout, "baseline: scan %d, %d identities, %d findings\n", first.scan.ID, len(first.inv.Identities), len(first.result.Findings))
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

	changes, err := a.demoChanges(ctx, org, first, st)
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

	report := filepath.Join(out, "report.html")
	if err := a.writeHTML(ctx, st, second.scan.ID, cat, report); err != nil {
		return err
	}
	evDir := filepath.Join(out, "evidence")
	if err := a.exportEvidence(ctx, st, second.scan.ID, cat, evDir); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nwritten:\n  database  %s\n  report    %s\n  evidence  %s\n  catalog   %s\n", dbPath, report, evDir, catDir)
	fmt.Fprintf(a.stdout, "\nnext: nhiscan findings --db %s --family orphaned\n      nhiscan diff --db %s\n      nhiscan audit verify --db %s\n", dbPath, dbPath, dbPath)
	return nil
}

// demoMarker marks a folder the demo wrote, so a rerun may replace its
// files.
const demoMarker = ".nhiscan-demo"

// demoFiles are the files and folders the demo writes in --out, which a
// rerun removes first.
var demoFiles = []string{"nhiscan.db", "nhiscan.db-wal", "nhiscan.db-shm", "nhiscan.db.lock", "report.html", "evidence", "catalog", "credentials"}

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
func (a *app) demoChanges(ctx context.Context, org *demoOrg, first scanOutcome, st *store.Store) ([]string, error) {
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

	// 3. An operator deletes the oldest dormant AWS access key, through the
	// collector's credential control (deactivate first, then delete).
	var target *nhi.Finding
	for i, f := range first.result.Findings {
		if f.Provider == nhi.AWS && f.RuleID == rules.RuleDormantCredential && f.CredentialID != "" {
			target = &first.result.Findings[i]
			break
		}
	}
	if target != nil {
		id, ok := first.inv.Identity(target.IdentityID)
		if !ok {
			return nil, errors.New("demo change: dormant identity vanished")
		}
		for _, act := range []collectors.Action{collectors.Disable, collectors.Delete} {
			res, err := org.awsControls.Act(ctx, collectors.ActionRequest{Action: act, Identity: *id, CredentialID: target.CredentialID})
			if err != nil {
				return nil, fmt.Errorf("demo change: %s %s: %w", act, target.CredentialID, err)
			}
			if err := st.Audit(ctx, store.AuditEntry{At: a.now().UTC(), Actor: "demo-operator", Action: "credential." + string(act),
				Subject: target.IdentityID + "/" + target.CredentialID, Detail: map[string]string{
					"before": res.Before, "after": res.After, "finding": target.Fingerprint, "rule": target.RuleID,
				}}); err != nil {
				return nil, err
			}
		}
		changes = append(changes, fmt.Sprintf("aws: demo-operator deactivated, then deleted, dormant access key %s of %s", target.CredentialID, id.Name))
	}
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
