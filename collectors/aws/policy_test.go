package aws

import (
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

func TestDocumentPrivilege(t *testing.T) {
	cases := []struct {
		name, doc  string
		priv       nhi.Privilege
		privileged bool
	}{
		{"admin", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, nhi.PrivAdmin, true},
		{"star on one bucket", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b"}]}`, nhi.PrivWrite, false},
		{"iam star", `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","IAM:*"],"Resource":["*"]}]}`, nhi.PrivAdmin, true},
		{"passrole", `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}`, nhi.PrivWrite, true},
		{"passrole by wildcard", `{"Statement":[{"Effect":"Allow","Action":"iam:P*Role","Resource":"*"}]}`, nhi.PrivWrite, true},
		{"passrole scoped", `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::1:role/x"}]}`, nhi.PrivWrite, false},
		{"not action", `{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`, nhi.PrivAdmin, true},
		{"read only", `{"Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:ListBucket","dynamodb:Query"],"Resource":"*"}]}`, nhi.PrivRead, false},
		{"deny only", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, nhi.PrivRead, false},
		{"unparseable", `not json`, nhi.PrivWrite, false},
	}
	for _, c := range cases {
		j := documentPrivilege(c.doc)
		if j.Level != c.priv || j.Privileged != c.privileged || j.Privileged != (j.Reason != "") {
			t.Errorf("%s: got %+v, want %s %v", c.name, j, c.priv, c.privileged)
		}
	}
}

func TestManagedPrivilege(t *testing.T) {
	for _, c := range []struct {
		arn, doc string
		want     nhi.Privilege
	}{
		{"arn:aws:iam::aws:policy/AdministratorAccess", "", nhi.PrivAdmin},
		{"arn:aws:iam::123456789012:policy/unknown", "", nhi.PrivWrite},
		{"arn:aws:iam::123456789012:policy/AdministratorAccess", `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, nhi.PrivRead},
		{"arn:aws:iam::123456789012:policy/admin", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, nhi.PrivAdmin},
	} {
		if got := managedPrivilege(c.arn, c.doc); got.Level != c.want {
			t.Errorf("%s: %+v, want %s", c.arn, got, c.want)
		}
	}
}

func TestTrustSignals(t *testing.T) {
	known := map[string]bool{"222222222222": true}
	cases := []struct {
		name, doc string
		weak      bool
	}{
		{"own org account", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole"}]}`, false},
		{"external no condition", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["999999999999"]},"Action":"sts:AssumeRole"}]}`, true},
		{"external with external id", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:role/x"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}]}`, false},
		{"anyone", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`, true},
		{"github no sub", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}`, true},
		{"github wildcard sub", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}]}`, true},
		{"github pinned sub", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":["repo:acme/app:ref:refs/heads/main"]}}}]}`, false},
		{"external by wildcard action", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:Assume*"}]}`, true},
		{"github by wildcard action", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},"Action":["sts:TagSession","sts:AssumeRole*"]}]}`, true},
		{"external may only tag", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:TagSession"}]}`, false},
		{"github sub only excluded", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringNotLike":{"token.actions.githubusercontent.com:sub":"repo:evil/*"}}}]}`, true},
		{"external id only present", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"Null":{"sts:ExternalId":"false"}}}]}`, true},
		{"service", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, false},
		{"deny external", `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole"}]}`, false},

		// Every OIDC provider is judged by its subject claim (issue 13).
		{"eks no sub", oidc("oidc.eks.eu-west-1.amazonaws.com/id/5C5B0D3F1F2E4A7B9C0D1E2F3A4B5C6D", `{"StringEquals":{"oidc.eks.eu-west-1.amazonaws.com/id/5C5B0D3F1F2E4A7B9C0D1E2F3A4B5C6D:aud":"sts.amazonaws.com"}}`), true},
		{"eks any namespace", oidc("oidc.eks.eu-west-1.amazonaws.com/id/5C5B0D3F1F2E4A7B9C0D1E2F3A4B5C6D", `{"StringLike":{"oidc.eks.eu-west-1.amazonaws.com/id/5c5b0d3f1f2e4a7b9c0d1e2f3a4b5c6d:sub":"system:serviceaccount:*:deployer"}}`), true},
		{"eks pinned (key case differs)", oidc("oidc.eks.eu-west-1.amazonaws.com/id/5C5B0D3F1F2E4A7B9C0D1E2F3A4B5C6D", `{"StringEquals":{"oidc.eks.eu-west-1.amazonaws.com/id/5c5b0d3f1f2e4a7b9c0d1e2f3a4b5c6d:sub":"system:serviceaccount:payments:api"}}`), false},
		{"gitlab no sub", oidc("gitlab.com", `{"StringEquals":{"gitlab.com:aud":"https://gitlab.com"}}`), true},
		{"gitlab any group", oidc("gitlab.com", `{"StringLike":{"gitlab.com:sub":"project_path:*/infra:ref_type:branch:ref:main"}}`), true},
		{"gitlab pinned group", oidc("gitlab.com", `{"StringLike":{"gitlab.com:sub":"project_path:acme/*"}}`), false},
		{"terraform cloud no sub", oidc("app.terraform.io", `{"StringEquals":{"app.terraform.io:aud":"aws.workload.identity"}}`), true},
		{"terraform cloud any org", oidc("app.terraform.io", `{"StringLike":{"app.terraform.io:sub":"organization:*:project:*:workspace:*:run_phase:*"}}`), true},
		{"terraform cloud pinned", oidc("app.terraform.io", `{"StringLike":{"app.terraform.io:sub":"organization:acme:project:*:workspace:prod:run_phase:*"}}`), false},
		{"bitbucket no sub", oidc("api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", `{}`), true},
		{"bitbucket pinned repo", oidc("api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", `{"StringLike":{"api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:sub":"{7c0d51c4-1a2b-4c3d-9e8f-0a1b2c3d4e5f}:*"}}`), false},
		{"any oidc provider no sub", oidc("idp.example.net/oauth2", `{"StringEquals":{"idp.example.net/oauth2:aud":"aws"}}`), true},
		{"any oidc provider wildcard sub", oidc("idp.example.net/oauth2", `{"StringLike":{"idp.example.net/oauth2:sub":"*"}}`), true},
		{"any oidc provider pinned", oidc("idp.example.net/oauth2", `{"StringEquals":{"idp.example.net/oauth2:sub":"svc-deploy"}}`), false},
		{"github sub literal star", oidc("token.actions.githubusercontent.com", `{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:*"}}`), false},
		{"github any owner", oidc("token.actions.githubusercontent.com", `{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*/deploy:*"}}`), true},
		{"github sub if exists", oidc("token.actions.githubusercontent.com", `{"StringLikeIfExists":{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}`), true},
		{"cognito no pool", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}]}`, true},
		{"cognito pool", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:12345678-1234-1234-1234-123456789012"}}}]}`, false},
		{"google no sub", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:aud":"1234.apps.googleusercontent.com"}}}]}`, true},
		{"saml", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/Okta"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`, false},
		{"oidc may only assume with credentials", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/gitlab.com"},"Action":"sts:AssumeRole"}]}`, false},

		// Cross-account trust needs an external id or an organisation condition.
		{"external pinned to one principal only", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::999999999999:role/partner"}}}]}`, true},
		{"external with organisation", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}`, false},
		{"external id if exists", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"StringEqualsIfExists":{"sts:ExternalId":"abc"}}}]}`, true},
		{"external id for all values", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"sts:AssumeRole","Condition":{"ForAllValues:StringEquals":{"sts:ExternalId":"abc"}}}]}`, true},
		{"anyone of an own account", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}]}`, false},
		{"anyone of an external account", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"999999999999"}}}]}`, true},
		{"anyone of the organisation", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}`, false},
	}
	for _, c := range cases {
		sigs, _ := trustSignals(c.doc, "111111111111", known)
		if (len(sigs) > 0) != c.weak {
			t.Errorf("%s: signals %+v, want weak=%v", c.name, sigs, c.weak)
		}
	}
}

// oidc is a trust policy letting an IAM OIDC provider assume the role with
// web identity under the given Condition element.
func oidc(provider, condition string) string {
	return `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/` + provider +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + condition + `}]}`
}

func TestDecodeDoc(t *testing.T) {
	if got := decodeDoc("%7B%22Action%22%3A%22s3%3AGet%2A%22%2C%22Sid%22%3A%22a%20b%2Bc%22%7D"); got != `{"Action":"s3:Get*","Sid":"a b+c"}` {
		t.Errorf("decodeDoc = %q", got)
	}
}

func TestParseReportDefensive(t *testing.T) {
	csv := "user,arn,password_enabled,password_last_used,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,extra_column\n" +
		"<root_account>,arn:aws:iam::1:root,not_supported,no_information,false,N/A,N/A,false,N/A,x\n" +
		"svc,arn:aws:iam::1:user/svc,false,N/A,true,2026-01-02T03:04:05+00:00,N/A,false,N/A,y\n"
	rep, err := parseReport([]byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	row, ok := rep.users["svc"]
	if !ok || len(rep.users) != 1 || !row.keys[0].present || !row.keys[0].lastUsed.IsZero() || row.keys[1].present || !rep.hasKeys("svc", time.Time{}) {
		t.Errorf("parsed %+v", rep.users)
	}
	if _, err := parseReport([]byte("a,b\n1,2\n")); err == nil {
		t.Error("report without the needed columns accepted")
	}
}
