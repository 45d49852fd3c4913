package awsfake

import (
	"fmt"
	"strings"
	"time"
)

// TrustRoles returns roles of account whose trust policies cover every
// kind of trust nhiscan judges: IAM OIDC providers (GitHub, EKS, GitLab,
// Terraform Cloud, Bitbucket and any other), the built-in web identity
// providers, SAML, other accounts and anyone. A role whose name starts
// with "weak-" must carry a weak-trust-policy signal; one starting with
// "ok-" must not. external is an account outside the organisation.
func TrustRoles(account, external string, now time.Time) []Role {
	const eks = "oidc.eks.eu-west-1.amazonaws.com/id/5C5B0D3F1F2E4A7B9C0D1E2F3A4B5C6D"
	const bitbucket = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	github := "token.actions.githubusercontent.com"
	docs := []struct{ name, doc string }{
		{"weak-github-no-sub", oidcTrust(account, github, `{"StringEquals":{"`+github+`:aud":"sts.amazonaws.com"}}`)},
		{"weak-github-any-owner", oidcTrust(account, github, `{"StringLike":{"`+github+`:sub":"repo:*/deploy:*"}}`)},
		{"ok-github-pinned", oidcTrust(account, github, `{"StringLike":{"`+github+`:sub":"repo:acme/deploy:ref:refs/heads/main"}}`)},
		{"weak-eks-no-sub", oidcTrust(account, eks, `{"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"}}`)},
		{"weak-eks-any-namespace", oidcTrust(account, eks, `{"StringLike":{"`+strings.ToLower(eks)+`:sub":"system:serviceaccount:*"}}`)},
		{"ok-eks-pinned", oidcTrust(account, eks, `{"StringEquals":{"`+eks+`:sub":"system:serviceaccount:payments:api","`+eks+`:aud":"sts.amazonaws.com"}}`)},
		{"weak-gitlab-no-sub", oidcTrust(account, "gitlab.com", `{"StringEquals":{"gitlab.com:aud":"https://gitlab.com"}}`)},
		{"ok-gitlab-pinned", oidcTrust(account, "gitlab.com", `{"StringLike":{"gitlab.com:sub":"project_path:acme/infra:ref_type:branch:ref:main"}}`)},
		{"weak-terraform-no-sub", oidcTrust(account, "app.terraform.io", `{"StringEquals":{"app.terraform.io:aud":"aws.workload.identity"}}`)},
		{"weak-terraform-any-org", oidcTrust(account, "app.terraform.io", `{"StringLike":{"app.terraform.io:sub":"organization:*:project:*:workspace:*:run_phase:*"}}`)},
		{"ok-terraform-pinned", oidcTrust(account, "app.terraform.io", `{"StringLike":{"app.terraform.io:sub":"organization:acme:project:*:workspace:prod:run_phase:*"}}`)},
		{"weak-bitbucket-no-sub", oidcTrust(account, bitbucket, `{}`)},
		{"ok-bitbucket-pinned", oidcTrust(account, bitbucket, `{"StringLike":{"`+bitbucket+`:sub":"{7c0d51c4-1a2b-4c3d-9e8f-0a1b2c3d4e5f}:*"}}`)},
		{"weak-oidc-no-sub", oidcTrust(account, "idp.example.net/oauth2", `{"StringEquals":{"idp.example.net/oauth2:aud":"aws"}}`)},
		{"ok-oidc-pinned", oidcTrust(account, "idp.example.net/oauth2", `{"StringEquals":{"idp.example.net/oauth2:sub":"svc-deploy"}}`)},
		{"weak-cognito-any-pool", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`},
		{"ok-saml", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + account + `:saml-provider/Okta"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`},
		{"weak-external-no-condition", accountTrust(external, `{}`)},
		{"weak-external-principal-arn-only", accountTrust(external, `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::`+external+`:role/partner"}}`)},
		{"ok-external-id", accountTrust(external, `{"StringEquals":{"sts:ExternalId":"acme-7f3a"}}`)},
		{"ok-external-organisation", accountTrust(external, `{"StringEquals":{"aws:PrincipalOrgID":"o-acme12345"}}`)},
		{"weak-anyone", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`},
		{"ok-anyone-of-this-account", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"` + account + `"}}}]}`},
	}
	out := make([]Role, 0, len(docs))
	for i, d := range docs {
		out = append(out, Role{Name: d.name, ID: fmt.Sprintf("AROA%sTRUST%04d", account[:3], i), Path: "/trust/",
			Created: now.AddDate(0, 0, -30), Trust: d.doc})
	}
	return out
}

func oidcTrust(account, provider, condition string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + account + `:oidc-provider/` + provider +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + condition + `}]}`
}

func accountTrust(external, condition string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + external +
		`:root"},"Action":"sts:AssumeRole","Condition":` + condition + `}]}`
}
