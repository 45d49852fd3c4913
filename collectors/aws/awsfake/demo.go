package awsfake

import (
	"fmt"
	"time"
)

// Demo account ids and the role nhiscan assumes in each.
const (
	DemoManagement = "111111111111"
	DemoPayments   = "222222222222"
	DemoData       = "333333333333"
	DemoSandbox    = "444444444444" // suspended: listed, never scanned
	DemoRoleName   = "nhiscan-audit"
	// DemoExternalAccount is a partner account outside the organisation.
	DemoExternalAccount = "999999999999"
)

const (
	policyAdmin         = "arn:aws:iam::aws:policy/AdministratorAccess"
	policyIAMFull       = "arn:aws:iam::aws:policy/IAMFullAccess"
	policyPowerUser     = "arn:aws:iam::aws:policy/PowerUserAccess"
	policyReadOnly      = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	policySecurityAudit = "arn:aws:iam::aws:policy/SecurityAudit"
	policyAthenaFull    = "arn:aws:iam::aws:policy/AmazonAthenaFullAccess"
)

func trustAccount(acct string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
}

func trustService(svc string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
}

func trustGitHub(acct, sub string) string {
	cond := `"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}`
	if sub != "" {
		cond += `,"StringLike":{"token.actions.githubusercontent.com:sub":"` + sub + `"}`
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct +
		`:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` + cond + `}}]}`
}

func allow(actions, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + actions + `,"Resource":"` + resource + `"}]}`
}

func tagsOf(team, owner string) map[string]string {
	t := map[string]string{"team": team}
	if owner != "" {
		t["owner"] = owner
	}
	return t
}

func auditRole(acct string, now time.Time) Role {
	return Role{Name: DemoRoleName, ID: "AROA" + acct + "AUDIT", Created: now.AddDate(0, 0, -300),
		Tags: tagsOf("security", "grace.kim@acme.example"), Trust: trustAccount(DemoManagement),
		Attached: []string{policySecurityAudit}, LastUsed: now.Add(-time.Hour), LastUsedRegion: "us-east-1"}
}

// Demo returns the demo organisation's AWS slice, with ages relative to now.
// See the package README for what each identity exercises.
func Demo(now time.Time) Seed {
	now = now.UTC().Truncate(time.Second)
	d := func(days int) time.Time { return now.AddDate(0, 0, -days) }
	return Seed{
		Management: DemoManagement,
		Accounts: []Account{
			{
				ID: DemoManagement, Name: "acme-management", Email: "aws-management@acme.example", Joined: d(900),
				Roles: []Role{
					auditRole(DemoManagement, now),
					{Name: "platform-terraform", ID: "AROA111PLATFORMTF0001", Created: d(500),
						Tags: tagsOf("platform", "alice.nguyen@acme.example"), Trust: trustGitHub(DemoManagement, "repo:acme/infra:ref:refs/heads/main"),
						Attached: []string{policyAdmin}, LastUsed: d(1), LastUsedRegion: "eu-west-1",
						// Administrator, yet uses three services; DynamoDB last 200 days ago.
						LastAccessed: []ServiceAccess{
							{Namespace: "s3", LastAuthenticated: d(1), Region: "eu-west-1", Actions: map[string]time.Time{"GetObject": d(1), "PutObject": d(2)}},
							{Namespace: "iam", LastAuthenticated: d(1), Region: "us-east-1", Actions: map[string]time.Time{"PassRole": d(1), "GetRole": d(1)}},
							{Namespace: "lambda", LastAuthenticated: d(85), Region: "eu-west-1", Actions: map[string]time.Time{"UpdateFunctionCode": d(85)}},
							{Namespace: "dynamodb", LastAuthenticated: d(200), Region: "eu-west-1"},
						}},
					{Name: "AWSServiceRoleForSupport", ID: "AROA111SUPPORTSLR0001", Path: "/aws-service-role/support.amazonaws.com/", Created: d(900),
						Trust: trustService("support.amazonaws.com"), Attached: []string{"arn:aws:iam::aws:policy/aws-service-role/AWSSupportServiceRolePolicy"},
						LastUsed: d(30), LastUsedRegion: "us-east-1"},
				},
				Users: []User{
					{Name: "security-scanner-legacy", ID: "AIDA111SECSCANLEG0001", Created: d(700),
						Tags: tagsOf("security", "zoe.former@acme.example"), Attached: []string{policyIAMFull},
						LastAccessed: []ServiceAccess{{Namespace: "iam", LastAuthenticated: d(380), Region: "us-east-1", Actions: map[string]time.Time{"GenerateCredentialReport": d(380)}}},
						AccessKeys:   []AccessKey{{ID: "AKIA111SECSCANLEG001", Secret: "demo-secret-1-wJalrXUtnFEMIK7MDENGbPxRfiCY", Created: d(400), LastUsed: d(380), LastUsedService: "iam", LastUsedRegion: "us-east-1"}}},
				},
			},
			{
				ID: DemoPayments, Name: "acme-payments-prod", Email: "aws-payments@acme.example", Joined: d(800),
				Roles: []Role{
					auditRole(DemoPayments, now),
					{Name: "payments-api-runtime", ID: "AROA222PAYAPIRUN0001", Created: d(365),
						Tags: tagsOf("payments", "bob.martins@acme.example"), Trust: trustService("ecs-tasks.amazonaws.com"),
						Inline:   map[string]string{"payments-tables": allow(`["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query"]`, "arn:aws:dynamodb:eu-west-1:222222222222:table/payments-*")},
						LastUsed: now.Add(-2 * time.Hour), LastUsedRegion: "eu-west-1",
						Description: "Runtime role of the payments API (ECS tasks); owner: payments", MaxSessionDuration: 7200,
						PermissionsBoundary: "arn:aws:iam::222222222222:policy/payments-boundary"},
					{Name: "payments-github-deploy", ID: "AROA222PAYGHDEPL0001", Created: d(240),
						Tags: tagsOf("payments", "henry.adams@acme.example"), Trust: trustGitHub(DemoPayments, ""),
						Attached: []string{policyPowerUser}, LastUsed: d(3), LastUsedRegion: "eu-west-1",
						LastAccessed: []ServiceAccess{
							{Namespace: "ecs", LastAuthenticated: d(3), Region: "eu-west-1"},
							{Namespace: "ecr", LastAuthenticated: d(3), Region: "eu-west-1"},
							{Namespace: "s3", LastAuthenticated: d(80), Region: "eu-west-1", Actions: map[string]time.Time{"PutObject": d(80)}},
						}},
				},
				Groups: []Group{{Name: "reporting-readers", ID: "AGPA222REPORTREAD0001", Created: d(700), Attached: []string{policyReadOnly}}},
				Policies: []Policy{{Name: "payments-deploy", ID: "ANPA222PAYDEPLOY0001", Created: d(400),
					Document: allow(`["ecs:UpdateService","ecs:DescribeServices","ecr:*","s3:PutObject"]`, "*")}},
				Users: []User{
					{Name: "payments-ci-deployer", ID: "AIDA222PAYCIDEPL0001", Created: d(420),
						Tags: tagsOf("payments", "liam.wilson@acme.example"), Attached: []string{"arn:aws:iam::222222222222:policy/payments-deploy"},
						AccessKeys: []AccessKey{
							{ID: "AKIA222PAYCIOLDKEY01", Secret: "demo-secret-2-je7MtGbClwBF/2Zp9Utk/h3yCo8n", Active: true, Created: d(200), LastUsed: d(95), LastUsedService: "ecs", LastUsedRegion: "eu-west-1"},
							{ID: "AKIA222PAYCINEWKEY01", Secret: "demo-secret-3-sQ9fG2kLmN4pR7tV0wX3yZ6aB8cD", Active: true, Created: d(30), LastUsed: d(1), LastUsedService: "ecr", LastUsedRegion: "eu-west-1"},
						}},
					{Name: "payments-reporting-legacy", ID: "AIDA222PAYREPLEG0001", Created: d(600),
						Tags: tagsOf("payments", "dan.okafor@acme.example"), Groups: []string{"reporting-readers"},
						AccessKeys: []AccessKey{{ID: "AKIA222PAYREPLEG0001", Secret: "demo-secret-4-hT5uV8wY1zA3bC6dE9fG2hJ5kL8m", Active: true, Created: d(400), LastUsed: d(200), LastUsedService: "s3", LastUsedRegion: "eu-west-1"}}},
				},
			},
			{
				ID: DemoData, Name: "acme-data-prod", Email: "aws-data@acme.example", Joined: d(700),
				Roles: []Role{
					auditRole(DemoData, now),
					{Name: "data-partner-ingest", ID: "AROA333DATAPARTN0001", Created: d(180),
						Tags: tagsOf("data", "erin.walsh@acme.example"), Trust: trustAccount(DemoExternalAccount),
						Inline:   map[string]string{"ingest-bucket": allow(`["s3:PutObject","s3:ListBucket"]`, "arn:aws:s3:::acme-data-ingest/*")},
						LastUsed: d(2), LastUsedRegion: "eu-west-1"},
					{Name: "data-warehouse-admin", ID: "AROA333DATAWHADM0001", Created: d(500),
						Tags: tagsOf("data", "kate.jones@acme.example"), Trust: trustAccount(DemoData),
						Attached: []string{policyAdmin},
						Inline:   map[string]string{"nhiscan-quarantine": `{"Version":"2012-10-17","Statement":[{"Sid":"NhiscanQuarantine","Effect":"Deny","Action":"*","Resource":"*"}]}`},
						LastUsed: d(60), LastUsedRegion: "eu-west-1"},
				},
				Policies: []Policy{{Name: "data-etl", ID: "ANPA333DATAETL00001", Created: d(300),
					Document: allow(`["s3:GetObject","s3:PutObject","glue:StartJobRun","glue:GetJobRun"]`, "*")}},
				Users: []User{
					{Name: "data-etl-runner", ID: "AIDA333DATAETLRUN0001", Created: d(130),
						Tags: tagsOf("data", "frank.li@acme.example"), Attached: []string{"arn:aws:iam::333333333333:policy/data-etl"},
						AccessKeys: []AccessKey{{ID: "AKIA333DATAETLRUN001", Secret: "demo-secret-5-nM3bV6cX9zL2kJ5hG8fD1sA4qW7e", Active: true, Created: d(120)}}},
					{Name: "data-airflow-svc", ID: "AIDA333AIRFLOWSV0001", Created: d(90),
						Tags:       tagsOf("data", "maya.patel@acme.example"),
						Inline:     map[string]string{"bedrock-invoke": allow(`"bedrock:InvokeModel"`, "*"), "etl-read": allow(`["s3:GetObject","s3:ListBucket"]`, "*")},
						AccessKeys: []AccessKey{{ID: "AKIA333AIRFLOWSV0001", Secret: "demo-secret-6-rT4yU7iO0pA3sD6fG9hJ2kL5zX8c", Active: true, Created: d(2)}},
						ServiceCreds: []ServiceCred{{ID: "ACCA333AIRFLOWBEDRK01", ServiceName: "bedrock.amazonaws.com", Alias: "airflow-bedrock",
							Password: "demo-secret-7-bedrock-api-key-value", Active: true, Created: d(80), Expires: now.AddDate(0, 0, 10)}}},
					{Name: "data-analyst-shared", ID: "AIDA333ANALYSTSH0001", Created: d(400),
						Tags: map[string]string{"team": "data"}, Attached: []string{policyAthenaFull},
						PasswordEnabled: true, PasswordLastUsed: d(5),
						AccessKeys: []AccessKey{{ID: "AKIA333ANALYSTSH0001", Secret: "demo-secret-8-vB1nM4qW7eR0tY3uI6oP9aS2dF5g", Active: true, Created: d(300), LastUsed: d(1), LastUsedService: "athena", LastUsedRegion: "eu-west-1"}}},
				},
			},
			{ID: DemoSandbox, Name: "acme-sandbox-old", Email: "aws-sandbox@acme.example", State: "SUSPENDED", Joined: d(1000),
				Roles: []Role{auditRole(DemoSandbox, now)}},
		},
	}
}

// Secrets returns every secret value seeded (access key secrets, service
// credential passwords), for leak tests.
func (s Seed) Secrets() []string {
	var out []string
	for _, a := range s.Accounts {
		for _, u := range a.Users {
			for _, k := range u.AccessKeys {
				out = append(out, k.Secret)
			}
			for _, c := range u.ServiceCreds {
				out = append(out, c.Password)
			}
		}
	}
	return out
}

// Synthetic returns an organisation of n accounts (the first is the
// management account) with about perAccount identities each: half users
// (one in four with an access key, one in twenty with two) and half roles,
// with a few groups and local policies, for benchmarks and scale tests.
// Every account has DemoRoleName.
func Synthetic(n, perAccount int, now time.Time) Seed {
	now = now.UTC().Truncate(time.Second)
	seed := Seed{Management: "100000000000"}
	for a := 0; a < n; a++ {
		acct := fmt.Sprintf("%012d", 100000000000+a)
		ac := Account{ID: acct, Name: fmt.Sprintf("synthetic-%04d", a), Joined: now.AddDate(-2, 0, 0)}
		ac.Roles = append(ac.Roles, auditRole(acct, now))
		ac.Groups = []Group{{Name: "deployers", ID: fmt.Sprintf("AGPA%05dG%011d", a, 0), Created: now.AddDate(-1, 0, 0), Attached: []string{policyReadOnly}}}
		ac.Policies = []Policy{{Name: "app-write", ID: fmt.Sprintf("ANPA%05dP%011d", a, 0), Created: now.AddDate(-1, 0, 0),
			Document: allow(`["s3:PutObject","sqs:SendMessage"]`, "*")}}
		users := perAccount / 2
		for i := 0; i < users; i++ {
			u := User{Name: fmt.Sprintf("svc-user-%04d", i), ID: fmt.Sprintf("AIDA%05dU%011d", a, i), Created: now.AddDate(0, 0, -400+i%300),
				Tags: tagsOf("team-"+fmt.Sprint(i%7), fmt.Sprintf("owner%d@acme.example", i%40)), Groups: []string{"deployers"},
				Attached: []string{"arn:aws:iam::" + acct + ":policy/app-write"}}
			if i%4 == 0 {
				u.AccessKeys = append(u.AccessKeys, AccessKey{ID: fmt.Sprintf("AKIA%05dK%010d1", a, i), Secret: fmt.Sprintf("synthetic-secret-%d-%d", a, i),
					Active: true, Created: now.AddDate(0, 0, -200+i%150), LastUsed: now.AddDate(0, 0, -(i % 120)), LastUsedService: "s3", LastUsedRegion: "us-east-1"})
			}
			if i%20 == 0 {
				u.AccessKeys = append(u.AccessKeys, AccessKey{ID: fmt.Sprintf("AKIA%05dK%010d2", a, i), Active: i%40 == 0, Created: now.AddDate(0, 0, -30)})
			}
			ac.Users = append(ac.Users, u)
		}
		for i := 0; i < perAccount-users-1; i++ {
			r := Role{Name: fmt.Sprintf("app-role-%04d", i), ID: fmt.Sprintf("AROA%05dR%011d", a, i), Created: now.AddDate(0, 0, -500+i%400),
				Tags: tagsOf("team-"+fmt.Sprint(i%7), ""), Trust: trustService("lambda.amazonaws.com"), Attached: []string{"arn:aws:iam::" + acct + ":policy/app-write"}}
			if i%3 != 0 {
				r.LastUsed, r.LastUsedRegion = now.AddDate(0, 0, -(i%250)), "us-east-1"
			}
			ac.Roles = append(ac.Roles, r)
		}
		seed.Accounts = append(seed.Accounts, ac)
	}
	return seed
}
