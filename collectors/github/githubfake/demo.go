package githubfake

import (
	"fmt"
	"time"
)

// Demo organisation constants.
const (
	DemoOrg      = "acme"
	DemoLabsOrg  = "acme-labs"
	DemoAppID    = 424242
	DemoToken    = "ghp_demoScannerClassicTokenDoNotLeak0001"
	demoKeyStart = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
)

// ScannerPermissions are the read-only App permissions the collector needs,
// plus the write permissions its credential controls use.
func ScannerPermissions() map[string]string {
	return map[string]string{
		"metadata":                            "read",
		"administration":                      "write",
		"secrets":                             "read",
		"environments":                        "read",
		"actions":                             "read",
		"members":                             "read",
		"organization_administration":         "read",
		"organization_secrets":                "read",
		"organization_personal_access_tokens": "write",
		"organization_custom_properties":      "read",
	}
}

func pubKey(n int) string { return fmt.Sprintf("%s%040d demo", demoKeyStart, n) }

// Demo returns the GitHub slice of the demo organisation, with every date
// relative to now so the demo stays meaningful on any day, and a fresh App
// key for the scanner (WriteCredentials writes it out).
func Demo(now time.Time) Seed { return DemoWithKey(now, NewAppKey()) }

// DemoWithKey is Demo with a given App private key (PEM); nil disables App
// authentication.
func DemoWithKey(now time.Time, appKeyPEM []byte) Seed {
	now = now.UTC().Truncate(time.Second)
	d := func(days int) time.Time { return now.AddDate(0, 0, -days) }
	var app *App
	if appKeyPEM != nil {
		app = &App{ID: DemoAppID, PrivateKeyPEM: appKeyPEM, Installations: map[string]AppInstallation{
			DemoOrg:     {ID: 5100001, Permissions: ScannerPermissions()},
			DemoLabsOrg: {ID: 5100002, Permissions: ScannerPermissions()},
		}}
	}
	acme := Org{
		ID: 7100001, Login: DemoOrg, Name: "Acme Corp", SAML: true,
		Members: []string{"alice-n", "bobm", "carold", "erinw", "gracek", "hadams", "irener", "jackb",
			"liamw", "mayap", "noahs", "oliviac"},
		OutsideCollaborators: []string{"ext-auditor"},
		Repos: []Repo{
			{ID: 610001, Name: "payments-api", Private: true, Created: d(900), Pushed: d(1),
				Properties: map[string]string{"team": "payments", "owner": "bobm"},
				DeployKeys: []DeployKey{{ID: 810001, Title: "payments-ci-deployer", Key: pubKey(1), ReadOnly: false,
					Created: d(60), AddedBy: "bobm", LastUsed: d(1)}},
				Secrets: []Secret{
					{Name: "AWS_ACCESS_KEY_ID", Created: d(500), Updated: d(500), Value: "AKIADEMOLEAKCANARY01"},
					{Name: "AWS_SECRET_ACCESS_KEY", Created: d(500), Updated: d(500), Value: "demoSecretAccessKeyCanaryDoNotLeak0000001"},
					{Name: "NPM_TOKEN", Created: d(45), Updated: d(45), Value: "npm_demoCanaryTokenDoNotLeak000000001"},
				}},
			{ID: 610002, Name: "data-pipelines", Private: true, Created: d(700), Pushed: d(3),
				Properties: map[string]string{"team": "data", "owner": "mayap"},
				DeployKeys: []DeployKey{{ID: 810002, Title: "data-etl-runner", Key: pubKey(2), ReadOnly: true,
					Created: d(400), AddedBy: "frankli", LastUsed: d(200)}},
				Environments: []Environment{{ID: 710001, Name: "production", Secrets: []Secret{
					{Name: "GCP_SA_KEY", Created: d(100), Updated: d(100), Value: `{"type":"service_account","private_key":"canary"}`},
				}}}},
			{ID: 610003, Name: "platform-infra", Private: true, Created: d(1000), Pushed: d(2),
				Properties: map[string]string{"team": "platform", "owner": "carold"},
				DeployKeys: []DeployKey{{ID: 810003, Title: "platform-terraform-readonly", Key: pubKey(3), ReadOnly: true,
					Created: d(120), AddedBy: "dokafor"}}},
			{ID: 610004, Name: "docs-site", Created: d(300), Pushed: d(2),
				Properties: map[string]string{"team": "devex", "owner": "oliviac"},
				DeployKeys: []DeployKey{{ID: 810004, Title: "docs-preview-bot", Key: pubKey(4), ReadOnly: true,
					Created: d(2), AddedBy: "jackb"}}},
			{ID: 610005, Name: "legacy-billing", Private: true, Archived: true, Created: d(2000), Pushed: d(400),
				Properties: map[string]string{"team": "payments"},
				DeployKeys: []DeployKey{{ID: 810005, Title: "legacy-billing-sync", Key: pubKey(5), ReadOnly: false,
					Created: d(800), AddedBy: "katej", LastUsed: d(380), Disabled: true}}},
			{ID: 610006, Name: "security-tools", Private: true, Created: d(200), Pushed: d(10),
				Properties: map[string]string{"team": "security", "owner": "gracek"}},
		},
		Installations: []Installation{
			{ID: 3300001, AppID: 1001, AppSlug: "renovate", RepositorySelection: "selected",
				Permissions: map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"},
				Events:      []string{"pull_request", "push"}, Created: d(365), Updated: d(30)},
			{ID: 3300002, AppID: 1002, AppSlug: "acme-release-bot", RepositorySelection: "all",
				Permissions: map[string]string{"administration": "write", "contents": "write", "secrets": "write", "workflows": "write", "metadata": "read"},
				Events:      []string{"release"}, Created: d(500), Updated: d(200)},
			{ID: 3300003, AppID: 1003, AppSlug: "legacy-ci-app", RepositorySelection: "selected",
				Permissions: map[string]string{"checks": "write", "metadata": "read"},
				Created:     d(1200), Updated: d(600), Suspended: d(90), SuspendedBy: "gracek"},
		},
		FineGrainedTokens: []FineGrainedToken{
			{ID: 920001, TokenID: 930001, Name: "erin-analytics-export", Owner: "erinw", OwnerID: 2005,
				RepositorySelection: "subset", Repositories: []string{"data-pipelines", "docs-site"},
				RepoPermissions: map[string]string{"contents": "read", "metadata": "read"},
				AccessGranted:   d(80), Expires: now.AddDate(0, 0, 10), LastUsed: d(3), Value: "github_pat_demoCanaryErinDoNotLeak0001"},
			{ID: 920002, TokenID: 930002, Name: "kate-release-token", Owner: "katej", OwnerID: 2011,
				RepositorySelection: "all", OrgPermissions: map[string]string{"members": "read"},
				RepoPermissions: map[string]string{"administration": "write", "contents": "write", "metadata": "read"},
				AccessGranted:   d(420), LastUsed: d(250), Value: "github_pat_demoCanaryKateDoNotLeak0002"},
		},
		CredentialAuthorizations: []CredentialAuthorization{
			{CredentialID: 940001, Login: "hadams", Type: "personal access token", Scopes: []string{"repo", "workflow", "admin:org"},
				Authorized: d(400), Accessed: d(5), AuthorizedCredentialID: 950001, Note: "payments release automation",
				Value: "ghp_demoCanaryHenryClassicDoNotLeak001"},
			{CredentialID: 940002, Login: "zoe-former", Type: "SSH key", Authorized: d(30),
				AuthorizedCredentialID: 950002, Title: "zoe build box", Fingerprint: "SHA256:demoFingerprintZoe0000000000000000000000000"},
		},
		Secrets: []Secret{
			{Name: "AZURE_CLIENT_SECRET", Created: d(300), Updated: d(150), Visibility: "all", Value: "azDemoCanaryClientSecretDoNotLeak~0001"},
			{Name: "SLACK_WEBHOOK_URL", Created: d(60), Updated: d(60), Visibility: "private", Value: "https://hooks.slack.example/canary"},
		},
	}
	labs := Org{
		ID: 7100002, Login: DemoLabsOrg, Name: "Acme Labs",
		Members: []string{"mayap", "erinw", "carold"},
		Repos: []Repo{
			{ID: 620001, Name: "ml-experiments", Private: true, Created: d(150), Pushed: d(4),
				Properties: map[string]string{"team": "data", "owner": "mayap"},
				DeployKeys: []DeployKey{{ID: 820001, Title: "ml-dataset-sync", Key: pubKey(11), ReadOnly: true,
					Created: d(150), AddedBy: "mayap", LastUsed: d(10)}},
				Secrets: []Secret{{Name: "HF_TOKEN", Created: d(40), Updated: d(40), Value: "hf_demoCanaryDoNotLeak0001"}}},
			{ID: 620002, Name: "notebooks", Created: d(90), Pushed: d(20)},
		},
	}
	return Seed{
		App:    app,
		Tokens: []StaticToken{{Value: DemoToken, Login: "carold", Scopes: []string{"repo", "read:org", "admin:org"}}},
		Orgs:   []Org{acme, labs},
	}
}

// DemoSecrets lists every secret value the demo seed holds, for leak tests.
func DemoSecrets(s Seed) []string {
	var out []string
	for _, t := range s.Tokens {
		out = append(out, t.Value)
	}
	if s.App != nil {
		out = append(out, string(s.App.PrivateKeyPEM))
	}
	for _, o := range s.Orgs {
		for _, sc := range o.Secrets {
			out = append(out, sc.Value)
		}
		for _, t := range o.FineGrainedTokens {
			out = append(out, t.Value)
		}
		for _, a := range o.CredentialAuthorizations {
			out = append(out, a.Value)
		}
		for _, r := range o.Repos {
			for _, sc := range r.Secrets {
				out = append(out, sc.Value)
			}
			for _, e := range r.Environments {
				for _, sc := range e.Secrets {
					out = append(out, sc.Value)
				}
			}
		}
	}
	var nonEmpty []string
	for _, v := range out {
		if v != "" {
			nonEmpty = append(nonEmpty, v)
		}
	}
	return nonEmpty
}

// Large returns a seed with one organisation of repos repositories, of
// which withKeys have one deploy key, each repository with one Actions
// secret, for benchmarks and call-budget tests.
func Large(now time.Time, org string, repos, withKeys int, appKeyPEM []byte) Seed {
	now = now.UTC().Truncate(time.Second)
	o := Org{ID: 7900001, Login: org, Name: org, Members: []string{"alice-n", "bobm"}}
	step := 1
	if withKeys > 0 {
		step = max(1, repos/withKeys)
	}
	keys := 0
	for i := 0; i < repos; i++ {
		r := Repo{ID: int64(1_000_000 + i), Name: fmt.Sprintf("repo-%05d", i), Private: true,
			Created: now.AddDate(0, 0, -400), Pushed: now.AddDate(0, 0, -i%90),
			Secrets: []Secret{{Name: "DEPLOY_TOKEN", Created: now.AddDate(0, 0, -100), Updated: now.AddDate(0, 0, -100)}}}
		if i%step == 0 && keys < withKeys {
			keys++
			r.DeployKeys = []DeployKey{{ID: int64(2_000_000 + i), Title: "ci-" + r.Name, Key: pubKey(100000 + i),
				ReadOnly: i%2 == 0, Created: now.AddDate(0, 0, -200), AddedBy: "bobm", LastUsed: now.AddDate(0, 0, -5)}}
		}
		o.Repos = append(o.Repos, r)
	}
	var app *App
	if appKeyPEM != nil {
		app = &App{ID: DemoAppID, PrivateKeyPEM: appKeyPEM, Installations: map[string]AppInstallation{
			org: {ID: 5200001, Permissions: ScannerPermissions()},
		}}
	}
	return Seed{App: app, Orgs: []Org{o}}
}
