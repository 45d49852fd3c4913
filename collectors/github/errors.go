package github

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	gh "github.com/google/go-github/v89/github"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// API operations, named as in GitHub's OpenAPI description. They are the
// Source of gaps.
const (
	opGetOrg            = "orgs/get"
	opListRepos         = "repos/list-for-org"
	opListDeployKeys    = "repos/list-deploy-keys"
	opListInstallations = "orgs/list-app-installations"
	opListPATGrants     = "orgs/list-pat-grants"
	opListPATRepos      = "orgs/list-pat-grant-repositories"
	opListSAMLAuths     = "orgs/list-saml-sso-authorizations"
	opListOrgSecrets    = "actions/list-org-secrets"
	opListRepoSecrets   = "actions/list-repo-secrets"
	opListEnvSecrets    = "actions/list-environment-secrets"
	opListEnvs          = "repos/get-all-environments"
	opListMembers       = "orgs/list-members"
	opListOutside       = "orgs/list-outside-collaborators"
	opListProperties    = "orgs/custom-properties-for-repos-get-organization-values"
	// App authentication: the installation lookup and the token
	// creation, whose answer also reports the installation's repository
	// access.
	opGetInstallation = "apps/get-org-installation"
	opCreateToken     = "apps/create-installation-access-token"
)

// usageSource is the Usage.Source of every GitHub usage fact: GitHub
// reports last use in the same answers that list the credentials.
const usageSource = "github-api"

// Facets, by what reads them. Every GitHub facet lives in an organisation.
var (
	facetUsage = nhi.UsageFacet(usageSource)
	// deploy keys: the keys (with added_by, an owner, and last_used)
	// and their repository grant.
	facetsDeployKeys = []nhi.Facet{
		nhi.IdentitiesFacet(nhi.KindGitHubDeployKey), nhi.CredentialsFacet(nhi.CredGitHubDeployKey),
		nhi.GrantsFacet(privilege.GitHubRepoPermission), facetUsage, nhi.FacetOwnership,
	}
	// Actions secrets of the organisation, its repositories and
	// environments.
	facetsActions = []nhi.Facet{nhi.IdentitiesFacet(nhi.KindGitHubActions), nhi.CredentialsFacet(nhi.CredGitHubActionsSecret)}
	// everything read per repository: deploy keys, Actions secrets, and
	// the owner tags of repositories.
	facetsPerRepo  = append(append([]nhi.Facet(nil), facetsDeployKeys...), facetsActions...)
	facetsInstalls = []nhi.Facet{nhi.IdentitiesFacet(nhi.KindGitHubAppInstallation), nhi.GrantsFacet(privilege.GitHubAppPermission)}
	facetsTokens   = []nhi.Facet{
		nhi.IdentitiesFacet(nhi.KindGitHubFineGrainedPAT), nhi.CredentialsFacet(nhi.CredGitHubFineGrainedPAT),
		nhi.GrantsFacet(privilege.GitHubTokenPermission), facetUsage, nhi.FacetOwnership,
	}
	facetsSAML = []nhi.Facet{
		nhi.IdentitiesFacet(nhi.KindGitHubClassicPAT), nhi.IdentitiesFacet(nhi.KindGitHubSSHKey),
		nhi.IdentitiesFacet(nhi.KindGitHubOAuthAppToken), nhi.IdentitiesFacet(nhi.KindGitHubAppUserToken),
		nhi.CredentialsFacet(nhi.CredGitHubClassicPAT), nhi.CredentialsFacet(nhi.CredGitHubSSHKey),
		nhi.CredentialsFacet(nhi.CredGitHubOAuthAppToken), nhi.CredentialsFacet(nhi.CredGitHubAppUserToken),
		nhi.GrantsFacet(privilege.GitHubTokenScope), facetUsage, nhi.FacetOwnership,
	}
	facetsOwners = []nhi.Facet{nhi.FacetOwnership}
)

// ops is the operation table: what each operation needs from a GitHub App
// installation (and a classic token), and which facets of the
// organisation its failure hides. orgs/get has none: without the
// organisation nothing of it is read.
var ops = collectors.Ops{
	opGetOrg:            {Permission: "App: Metadata (read); token: read:org"},
	opListRepos:         {Permission: "App: Metadata (read); token: repo", Facets: facetsPerRepo},
	opListDeployKeys:    {Permission: "App: Administration (read); token: repo", Facets: facetsDeployKeys},
	opListInstallations: {Permission: "App: organization Administration (read); token: read:org as an org owner", Facets: facetsInstalls},
	opListPATGrants:     {Permission: "GitHub App with organization Personal access tokens (read); tokens cannot list them", Facets: facetsTokens},
	opListPATRepos: {Permission: "GitHub App with organization Personal access tokens (read); tokens cannot list them",
		Facets: []nhi.Facet{nhi.GrantsFacet(privilege.GitHubTokenPermission)}},
	opListSAMLAuths:   {Permission: "token of an org owner with read:org (GitHub Apps cannot list SAML authorisations)", Facets: facetsSAML},
	opListOrgSecrets:  {Permission: "App: organization Secrets (read); token: admin:org", Facets: facetsActions},
	opListRepoSecrets: {Permission: "App: Secrets (read); token: repo", Facets: facetsActions},
	opListEnvSecrets:  {Permission: "App: Environments (read); token: repo", Facets: facetsActions},
	opListEnvs:        {Permission: "App: Actions (read); token: repo", Facets: facetsActions},
	opListMembers:     {Permission: "App: organization Members (read); token: read:org", Facets: facetsOwners},
	opListOutside:     {Permission: "App: organization Members (read); token: read:org", Facets: facetsOwners},
	opListProperties:  {Permission: "App: organization Custom properties (read); token: read:org", Facets: facetsOwners},
	opGetInstallation: {Permission: "install the scanner GitHub App in the organisation, and configure its app_id and private key (private_key_file); an installation_id, when given, must be its installation there"},
	opCreateToken: {Permission: "the scanner App's app_id and private key (private_key_file) must match, its installation must not be suspended, " +
		"and it must be installed on all repositories of the organisation (Repository access: All repositories)"},
}

// scopeFacets lists what the collector reads in an organisation: SAML
// credential authorisations only when a token can read them or their
// absence is to be reported.
func (c *Collector) scopeFacets(oc *orgClients) []nhi.Facet {
	fs := append(append([]nhi.Facet(nil), facetsPerRepo...), facetsInstalls...)
	fs = append(fs, facetsTokens...)
	if oc.saml != nil || !c.cfg.SkipSAMLAuthorizations {
		fs = append(fs, facetsSAML...)
	}
	return fs
}

// translate turns an error of a read into the collectors sentinels, for
// collectors.GapKind: rate limits that outlasted the retries are
// ErrThrottled, 401 and 403 ErrDenied, a 404 under an organisation that
// was read ErrDenied too (GitHub answers 404 rather than confirm that a
// resource the credential may not see exists), 504 ErrTimeout, other 5xx
// ErrUnavailable.
// Network errors, timeouts and context errors are returned as they are:
// GapKind reads them. The result never carries a response body: of
// GitHub's error answer only the status, the first error code and a short
// message with anything credential-like redacted are kept (brief).
func translate(err error) error {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rl):
		return fmt.Errorf("primary rate limit until %s: %w", rl.Rate.Reset.UTC().Format("15:04:05Z"), collectors.ErrThrottled)
	case errors.As(err, &ab):
		return fmt.Errorf("secondary rate limit: %w", collectors.ErrThrottled)
	case isPlainThrottle(err):
		return fmt.Errorf("status %d, rate limited: %w", statusOf(err), collectors.ErrThrottled)
	case !errors.As(err, &er) || er.Response == nil:
		return err
	}
	switch code := er.Response.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("status %d%s: %w", code, brief(er), collectors.ErrDenied)
	case code == http.StatusNotFound:
		return fmt.Errorf("status 404 (GitHub answers 404 when the credential may not see the resource): %w", collectors.ErrDenied)
	case code == http.StatusGatewayTimeout:
		return fmt.Errorf("status 504: %w", collectors.ErrTimeout)
	case code >= 500:
		return fmt.Errorf("status %d: %w", code, collectors.ErrUnavailable)
	default:
		return fmt.Errorf("status %d%s", code, brief(er))
	}
}

// maxMessage bounds the message kept of a provider's error answer.
const maxMessage = 100

// brief reduces GitHub's error answer to what a gap may keep: the first
// error code and a short message, credential-like words redacted (": code:
// message", or "").
func brief(er *gh.ErrorResponse) string {
	out := ""
	if len(er.Errors) > 0 && errorCode.MatchString(er.Errors[0].Code) {
		out = ": " + er.Errors[0].Code
	}
	if m := shortMessage(er.Message); m != "" {
		out += ": " + m
	}
	return out
}

var errorCode = regexp.MustCompile(`^[a-z_]{1,40}$`)

// shortMessage makes a provider's message safe to store and log: one
// line, at most maxMessage bytes, and every word that could be a
// credential (a token prefix, a JWT, key material, a long run of letters
// and digits) replaced by "[redacted]". Servers echo what they refused.
func shortMessage(msg string) string {
	words := strings.Fields(msg)
	for i, w := range words {
		if credentialLike(w) {
			words[i] = "[redacted]"
		}
	}
	out := strings.Join(words, " ")
	if len(out) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}

// credentialPrefixes start GitHub tokens, JWTs, PEM blocks and cloud keys.
var credentialPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "eyJ", "-----BEGIN", "AKIA", "ASIA"}

// credentialLike reports whether a word of a message could carry a
// credential: it holds a credential prefix, or a run of 16 or more letters,
// digits and token punctuation that mixes letters and digits.
func credentialLike(w string) bool {
	for _, p := range credentialPrefixes {
		if strings.Contains(w, p) {
			return true
		}
	}
	run, letters, digits := 0, false, false
	for _, r := range w {
		switch {
		case unicode.IsLetter(r):
			letters = true
		case unicode.IsDigit(r):
			digits = true
		case strings.ContainsRune("_-+/=.~", r):
		default:
			run, letters, digits = 0, false, false
			continue
		}
		if run++; run >= 16 && letters && digits {
			return true
		}
	}
	return false
}

// actErr translates an error of a credential control. There a 404 means
// the target is gone: ErrNotFound.
func actErr(what string, err error) error {
	if statusOf(err) == http.StatusNotFound {
		return fmt.Errorf("github: %s: %w", what, collectors.ErrNotFound)
	}
	return fmt.Errorf("github: %s: %w", what, translate(err))
}

func statusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}
