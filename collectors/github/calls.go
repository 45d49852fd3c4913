package github

import (
	"net/http"
	"strings"
	"sync"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// callRoutes names each REST request the collector and its controls make
// by its operationId in GitHub's OpenAPI description (as the gaps and the
// fake name them), for Config.Calls.
var callRoutes = map[string]string{
	"POST /app/installations/{id}/access_tokens":               opCreateToken,
	"GET /orgs/{org}/installation":                             opGetInstallation,
	"GET /orgs/{org}":                                          opGetOrg,
	"GET /orgs/{org}/repos":                                    opListRepos,
	"POST /graphql":                                            "graphql",
	"GET /repos/{owner}/{repo}/keys":                           opListDeployKeys,
	"GET /repos/{owner}/{repo}/keys/{id}":                      "repos/get-deploy-key",
	"POST /repos/{owner}/{repo}/keys":                          "repos/create-deploy-key",
	"DELETE /repos/{owner}/{repo}/keys/{id}":                   "repos/delete-deploy-key",
	"GET /orgs/{org}/installations":                            opListInstallations,
	"GET /orgs/{org}/personal-access-tokens":                   opListPATGrants,
	"GET /orgs/{org}/personal-access-tokens/{id}/repositories": opListPATRepos,
	"POST /orgs/{org}/personal-access-tokens/{id}":             "orgs/update-pat-access",
	"GET /orgs/{org}/credential-authorizations":                opListSAMLAuths,
	"DELETE /orgs/{org}/credential-authorizations/{id}":        "orgs/remove-saml-sso-authorization",
	"GET /orgs/{org}/actions/secrets":                          opListOrgSecrets,
	"GET /repos/{owner}/{repo}/actions/secrets":                opListRepoSecrets,
	"GET /repos/{owner}/{repo}/environments/{env}/secrets":     opListEnvSecrets,
	"GET /repos/{owner}/{repo}/environments":                   opListEnvs,
	"GET /orgs/{org}/members":                                  opListMembers,
	"GET /orgs/{org}/outside_collaborators":                    opListOutside,
	"GET /orgs/{org}/properties/values":                        opListProperties,
}

var (
	callMuxOnce sync.Once
	callMux     *http.ServeMux
)

// callOperation is the operationId of req, or its method and path with
// the identifiers replaced for a request outside callRoutes. basePath is
// the API's path prefix (GitHub Enterprise Server's /api/v3).
func callOperation(req *http.Request, basePath string) string {
	callMuxOnce.Do(func() {
		callMux = http.NewServeMux()
		for p := range callRoutes {
			callMux.Handle(p, http.NotFoundHandler())
		}
	})
	r := req.Clone(req.Context())
	r.URL.Path = "/" + strings.TrimPrefix(strings.TrimPrefix(req.URL.Path, strings.TrimSuffix(basePath, "/")), "/")
	r.URL.RawPath = ""
	if _, pattern := callMux.Handler(r); pattern != "" {
		if op, ok := callRoutes[pattern]; ok {
			return op
		}
	}
	return collectors.PathOperation(r, map[string]int{"orgs": 1, "repos": 2, "installations": 1, "environments": 1})
}

// observe wraps the transport every client of the collector uses.
func (a *api) observe(rt http.RoundTripper) http.RoundTripper {
	base := a.base.Path
	return collectors.ObserveTransport(rt, nhi.GitHub, func(r *http.Request) string { return callOperation(r, base) }, a.cfg.Calls)
}
