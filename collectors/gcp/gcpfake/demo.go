package gcpfake

import (
	"fmt"
	"time"
)

// Demo settings the collector needs to read the demo organisation as
// intended.
const (
	// DemoOrganization is the demo's organisation id.
	DemoOrganization = "123456789012"
	// DemoOwnerLabelDomain turns an owner label such as "irene_rossi" into
	// irene.rossi@acme.example.
	DemoOwnerLabelDomain = "acme.example"
)

// DemoDelegatedClientIDs are the OAuth client ids with domain-wide
// delegation in the demo's Workspace (what an admin exports from the
// Workspace console).
var DemoDelegatedClientIDs = []string{"104000000000000000008"}

// Demo returns the demo organisation's GCP slice, with every age relative
// to now: five projects, fourteen service accounts and one Google service
// agent. See the gcp README for what each identity exercises.
func Demo(now time.Time) Seed {
	now = now.UTC()
	day := func(n int) time.Time { return now.AddDate(0, 0, -n) }
	sa := func(n int, account, desc string, lastAuth time.Time, keys ...Key) ServiceAccount {
		uid := fmt.Sprintf("1040000000000000000%02d", n)
		return ServiceAccount{UniqueID: uid, AccountID: account, DisplayName: account, Description: desc,
			OAuth2ClientID: uid, LastAuth: lastAuth, Keys: keys}
	}
	key := func(id string, created time.Time, lastAuth time.Time) Key {
		return Key{ID: id, Type: UserManaged, Origin: "GOOGLE_PROVIDED", ValidAfter: created, LastAuth: lastAuth,
			PrivateKeyData: "-----BEGIN PRIVATE KEY-----fake-" + id}
	}
	sys := func(id string, created time.Time) Key {
		return Key{ID: id, Type: SystemManaged, ValidAfter: created, ValidBefore: created.AddDate(0, 0, 14)}
	}
	sam := func(project, account string) string {
		return "serviceAccount:" + account + "@" + project + ".iam.gserviceaccount.com"
	}
	pool := func(number, pool, rest string) string {
		return "//iam.googleapis.com/projects/" + number + "/locations/global/workloadIdentityPools/" + pool + "/" + rest
	}
	const (
		pay, data, plat, devex, ident = "acme-payments-prod", "acme-data-prod", "acme-platform-prod", "acme-devex-tools", "acme-identity-prod"
		prodFolder, sharedFolder      = "200000000001", "200000000002"
	)

	expiring := key("7b1d0c6e2f4a58913c0de7f2a1b4c6d8e9f01234", day(80), day(2))
	expiring.ValidBefore = now.AddDate(0, 0, 10)
	exposedOld := key("2c9e5a7b1d3f4e6a8b0c2d4e6f8a0b1c3d5e7f90", day(200), day(150))
	exposedOld.Disabled = true
	exposedOld.DisableReason = ReasonExposed
	exposedOld.ExtendedStatus = map[string]string{StatusExposed: "key found in a public repository"}
	exposedLive := key("9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", day(45), day(3))
	exposedLive.ExtendedStatus = map[string]string{StatusExposed: "key found in a public repository"}

	computeDefault := ServiceAccount{UniqueID: "104000000000000000009", Email: "100000000002-compute@developer.gserviceaccount.com",
		AccountID: "100000000002-compute", DisplayName: "Compute Engine default service account",
		OAuth2ClientID: "104000000000000000009", LastAuth: day(1)}

	return Seed{
		Organization: DemoOrganization, OrgName: "acme.example", Now: now, ObservationStart: day(730),
		OrgBindings: []Binding{{Role: "roles/browser", Members: []string{sam(plat, "platform-terraform")}}},
		CustomRoles: []CustomRole{
			// Judged by what it includes: it can act as every service
			// account of the project it is bound on.
			{Name: "organizations/" + DemoOrganization + "/roles/ciDeployer", Title: "CI deployer",
				Permissions: []string{"artifactregistry.repositories.uploadArtifacts", "iam.serviceAccounts.actAs", "run.services.update"}},
			// Called an administrator, but it only reads.
			{Name: "projects/" + data + "/roles/reportingAdmin", Title: "Reporting admin",
				Permissions: []string{"bigquery.datasets.get", "bigquery.tables.getData", "bigquery.tables.list"}},
		},
		Folders: []Folder{
			{ID: prodFolder, DisplayName: "production", Parent: "organizations/" + DemoOrganization,
				Bindings: []Binding{{Role: "roles/resourcemanager.folderAdmin", Members: []string{sam(plat, "platform-terraform")}}}},
			{ID: sharedFolder, DisplayName: "shared", Parent: "organizations/" + DemoOrganization},
		},
		Projects: []Project{
			{ID: pay, Number: "100000000001", Name: "Payments production", Parent: "folders/" + prodFolder,
				Labels: map[string]string{"team": "payments", "env": "prod"},
				ServiceAccounts: []ServiceAccount{
					sa(1, "payments-ci-deployer", "Deploys payments services from CI. owner: bob.martins@acme.example", day(1),
						key("a1f3c5e7b9d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0", day(30), day(1))),
					sa(2, "payments-ledger-sync", "Nightly ledger sync to the warehouse. owner: liam.wilson@acme.example", day(200),
						key("b2e4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9", day(300), day(200))),
					sa(3, "payments-batch-legacy", "Legacy settlement batch jobs. owner: dan.okafor@acme.example", day(1),
						key("c3d5e7f9a1b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0", day(400), day(3)),
						key("d4c6e8f0a2b3d5f7a9c1e2b4d6f8a0c2e4b6d8f1", day(20), day(1))),
				},
				Bindings: []Binding{
					{Role: "roles/run.developer", Members: []string{sam(pay, "payments-ci-deployer")}},
					{Role: "roles/artifactregistry.writer", Members: []string{sam(pay, "payments-ci-deployer")}},
					{Role: "roles/cloudsql.client", Members: []string{sam(pay, "payments-ledger-sync")}},
					{Role: "roles/editor", Members: []string{sam(pay, "payments-batch-legacy"), "group:payments-eng@acme.example"}},
					{Role: "roles/pubsub.serviceAgent", Members: []string{"serviceAccount:service-100000000001@gcp-sa-pubsub.iam.gserviceaccount.com"}},
				},
				ResourceBindings: map[string][]Binding{
					"//iam.googleapis.com/projects/" + pay + "/serviceAccounts/104000000000000000001": {
						{Role: "roles/iam.serviceAccountUser", Members: []string{sam(plat, "platform-terraform")}},
						// Release engineers may mint its tokens.
						{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{"group:release-engineers@acme.example"}},
						// GitHub Actions runs of acme/payments-service act as the deployer.
						{Role: "roles/iam.workloadIdentityUser", Members: []string{"principalSet:" + pool("100000000003", "github-actions", "attribute.repository/acme/payments-service")}},
					},
					"//iam.googleapis.com/projects/" + pay + "/serviceAccounts/104000000000000000002": {
						// GKE Workload Identity, the legacy member form.
						{Role: "roles/iam.workloadIdentityUser", Members: []string{"serviceAccount:" + plat + ".svc.id.goog[payments/ledger-api]"}},
					},
				},
			},
			{ID: data, Number: "100000000002", Name: "Data production", Parent: "folders/" + prodFolder,
				Labels: map[string]string{"team": "data", "env": "prod"},
				ServiceAccounts: []ServiceAccount{
					sa(4, "data-etl-runner", "Runs the nightly ETL. owner: frank.li@acme.example", day(5),
						key("e5b7d9f1a3c4e6b8d0f2a3c5e7b9d1f3a5c7e9b0", day(120), time.Time{})),
					sa(5, "data-ingest-worker", "Streams events into BigQuery. owner: erin.walsh@acme.example", day(0),
						key("f6a8c0e2b4d5f7a9c1e3b4d6f8a0c2e4b6d8f0a1", day(2), time.Time{})),
					sa(6, "data-reporting-exporter", "Exports dashboards to partners. owner: henry.adams@acme.example", day(2), expiring),
					sa(8, "data-dwd-mailer", "Sends scheduled reports through Gmail (domain-wide delegation). owner: zoe.former@acme.example", time.Time{},
						key("0a2c4e6b8d1f3a5c7e9b2d4f6a8c0e3b5d7f9a1c", day(150), time.Time{})),
					computeDefault,
				},
				APIKeys: []APIKey{{UID: "5d0f9a6e-1b2c-4d3e-8f4a-5b6c7d8e9f01", DisplayName: "partner-dashboards",
					Created: day(60), ServiceAccountEmail: "data-reporting-exporter@" + data + ".iam.gserviceaccount.com",
					KeyString: "AIzaSyFAKE-demo-partner-dashboards-0001"}},
				// The ETL's S3-compatible uploads sign with an HMAC key that
				// Activity Analyzer never sees.
				HMACKeys: []HMACKey{{AccessID: "GOOG1EDEMODATAETLRUNNER0000000000000000000000000000000000001",
					ServiceAccountEmail: "data-etl-runner@" + data + ".iam.gserviceaccount.com", State: "ACTIVE",
					Created: day(400), Updated: day(400), Secret: "fAkE/demo+hmac+secret/0000000000000000000"}},
				Bindings: []Binding{
					{Role: "roles/bigquery.dataEditor", Members: []string{sam(data, "data-etl-runner"), sam(data, "data-ingest-worker")}},
					{Role: "roles/bigquery.jobUser", Members: []string{sam(data, "data-etl-runner")}},
					{Role: "roles/bigquery.dataViewer", Members: []string{sam(data, "data-reporting-exporter")}},
					{Role: "projects/" + data + "/roles/reportingAdmin", Members: []string{sam(data, "data-reporting-exporter")}},
					{Role: "roles/editor", Members: []string{"serviceAccount:100000000002-compute@developer.gserviceaccount.com"}},
				},
				// The IAM recommender's policy insights: the ETL uses BigQuery
				// data and jobs; the exporter never used its custom role.
				Insights: []Insight{
					{ID: "ins-etl-dataeditor", Role: "roles/bigquery.dataEditor", Member: sam(data, "data-etl-runner"),
						Exercised: []string{"bigquery.tables.getData", "bigquery.tables.updateData"}, Total: 42},
					{ID: "ins-etl-jobuser", Role: "roles/bigquery.jobUser", Member: sam(data, "data-etl-runner"),
						Exercised: []string{"bigquery.jobs.create"}, Total: 3},
					{ID: "ins-exporter-viewer", Role: "roles/bigquery.dataViewer", Member: sam(data, "data-reporting-exporter"),
						Exercised: []string{"bigquery.tables.getData"}, Total: 18},
					{ID: "ins-exporter-admin", Role: "projects/" + data + "/roles/reportingAdmin", Member: sam(data, "data-reporting-exporter"),
						Inferred: []string{"bigquery.datasets.get"}, Total: 6},
				},
			},
			{ID: plat, Number: "100000000003", Name: "Platform production", Parent: "folders/" + prodFolder,
				Labels: map[string]string{"team": "platform", "env": "prod"},
				ServiceAccounts: []ServiceAccount{
					sa(10, "platform-terraform", "Terraform for the landing zone. owner: alice.nguyen@acme.example", day(0)),
					func() ServiceAccount {
						s := sa(11, "platform-gke-nodes", "GKE node pool identity (retired). owner: carol.diaz@acme.example", day(250),
							sys("1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d", day(3)))
						s.Disabled = true
						return s
					}(),
					sa(12, "platform-backup-agent", "Snapshots and backups. owner: kate.jones@acme.example", day(3), exposedOld, exposedLive),
				},
				Pools: []Pool{{ID: "github-actions", DisplayName: "GitHub Actions", Providers: []Provider{{
					ID: "github", DisplayName: "GitHub", IssuerURI: "https://token.actions.githubusercontent.com",
					AttributeCondition: "assertion.repository_owner == 'acme'",
					AttributeMapping:   map[string]string{"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
				}}}},
				HMACKeys: []HMACKey{{AccessID: "GOOG1EDEMOBACKUPAGENT00000000000000000000000000000000000002",
					ServiceAccountEmail: "platform-backup-agent@" + plat + ".iam.gserviceaccount.com", State: "INACTIVE",
					Created: day(500), Updated: day(90), Secret: "fAkE/demo+hmac+secret/1111111111111111111"}},
				Bindings: []Binding{
					{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{sam(plat, "platform-terraform")}},
					{Role: "roles/logging.logWriter", Members: []string{sam(plat, "platform-gke-nodes")}},
					{Role: "roles/monitoring.metricWriter", Members: []string{sam(plat, "platform-gke-nodes")}},
					{Role: "roles/compute.storageAdmin", Members: []string{sam(plat, "platform-backup-agent")}},
					// GKE Workload Identity Federation: a pod's Kubernetes service
					// account holds a role itself.
					{Role: "roles/monitoring.viewer", Members: []string{"principal:" + pool("100000000003", plat+".svc.id.goog", "subject/ns/monitoring/sa/prometheus")}},
				},
			},
			{ID: devex, Number: "100000000004", Name: "Developer tools", Parent: "folders/" + sharedFolder,
				Labels: map[string]string{"team": "devex", "env": "tools"},
				ResourceBindings: map[string][]Binding{
					// Left over from a debugging session: anyone with a Google
					// account may mint the docs bot's tokens.
					"//iam.googleapis.com/projects/" + devex + "/serviceAccounts/104000000000000000014": {
						{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{"allAuthenticatedUsers", "user:jack.brown@acme.example"}},
					},
				},
				// A GitLab provider set up before attribute conditions were
				// required: it accepts any gitlab.com project.
				Pools: []Pool{{ID: "legacy-ci", DisplayName: "Legacy CI", Providers: []Provider{{
					ID: "gitlab", DisplayName: "GitLab", IssuerURI: "https://gitlab.com",
					AttributeMapping: map[string]string{"google.subject": "assertion.sub"},
				}}}},
				ServiceAccounts: []ServiceAccount{
					sa(13, "devex-build-cache", "Build cache for CI runners.", time.Time{},
						sys("2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f", day(5))),
					sa(14, "devex-docs-bot", "Publishes internal docs. owner: jack.brown@acme.example", day(1)),
				},
				Bindings: []Binding{
					{Role: "roles/storage.objectCreator", Members: []string{sam(devex, "devex-build-cache")}},
					{Role: "organizations/" + DemoOrganization + "/roles/ciDeployer", Members: []string{sam(devex, "devex-build-cache")}},
					{Role: "roles/iam.serviceAccountUser", Members: []string{sam(devex, "devex-docs-bot")}},
					// Every identity of a pool whose GitLab provider has no
					// attribute condition: any gitlab.com project.
					{Role: "roles/storage.objectAdmin", Members: []string{"principalSet:" + pool("100000000004", "legacy-ci", "*")}},
				},
			},
			{ID: ident, Number: "100000000005", Name: "Identity production", Parent: "folders/" + sharedFolder,
				Labels: map[string]string{"team": "identity", "env": "prod", "owner": "irene_rossi"},
				ServiceAccounts: []ServiceAccount{
					sa(15, "identity-scim-sync", "Syncs HR records to Cloud Identity.", day(1),
						key("3e5a7c9b1d2f4a6c8e0b2d4f6a8c1e3b5d7f9a2c", day(60), day(1))),
				},
				Bindings: []Binding{
					{Role: "roles/iam.serviceAccountViewer", Members: []string{sam(ident, "identity-scim-sync")}},
					// People signing in through workforce identity federation:
					// not non-human identities.
					{Role: "roles/viewer", Members: []string{"principalSet://iam.googleapis.com/locations/global/workforcePools/acme-staff/group/sre"}},
				},
			},
		},
	}
}

// Generate builds a synthetic organisation of projects × accounts service
// accounts, each with keysPer user-managed keys, half of them used within
// the last week; every account holds one project-level role. It is for
// call-budget tests and benchmarks.
func Generate(projects, accounts, keysPer int, now time.Time) Seed {
	now = now.UTC()
	seed := Seed{Organization: "999000000001", OrgName: "bench.example", Now: now, ObservationStart: now.AddDate(-2, 0, 0),
		Folders: []Folder{{ID: "999100000001", DisplayName: "all", Parent: "organizations/999000000001"}}}
	for p := 0; p < projects; p++ {
		pid := fmt.Sprintf("bench-%04d", p)
		proj := Project{ID: pid, Number: fmt.Sprintf("9992%08d", p), Name: pid, Parent: "folders/999100000001",
			Labels: map[string]string{"team": fmt.Sprintf("team-%d", p%7), "owner": fmt.Sprintf("owner_%d", p%11)}}
		members := make([]string, 0, accounts)
		for a := 0; a < accounts; a++ {
			uid := fmt.Sprintf("1%08d%012d", p, a)
			sa := ServiceAccount{UniqueID: uid, AccountID: fmt.Sprintf("svc-%04d", a), DisplayName: fmt.Sprintf("svc %d", a),
				Description: fmt.Sprintf("owner: person%d@bench.example", a%13), OAuth2ClientID: uid}
			if a%2 == 0 {
				sa.LastAuth = now.AddDate(0, 0, -(a % 7))
			}
			for k := 0; k < keysPer; k++ {
				key := Key{ID: fmt.Sprintf("%08x%08x%024x", p, a, k), Type: UserManaged, ValidAfter: now.AddDate(0, 0, -(10 + a + k))}
				if a%2 == 0 {
					key.LastAuth = sa.LastAuth
				}
				sa.Keys = append(sa.Keys, key)
			}
			proj.ServiceAccounts = append(proj.ServiceAccounts, sa)
			members = append(members, "serviceAccount:"+sa.AccountID+"@"+pid+".iam.gserviceaccount.com")
		}
		proj.Bindings = []Binding{{Role: "roles/storage.objectViewer", Members: members}}
		seed.Projects = append(seed.Projects, proj)
	}
	return seed
}
