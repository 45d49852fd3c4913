package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"cloud.google.com/go/auth"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// API operations, as named in gaps (and in the fake).
const (
	opListAssets     = "cloudasset.assets.list"
	opSearchPolicies = "cloudasset.searchAllIamPolicies"
	// The search for workload identity pool principals (federatedQuery).
	opSearchFederated = "cloudasset.searchAllIamPolicies:principals"
	// The search for service accounts' own policies (who may impersonate
	// each).
	opSearchAccountPolicies = "cloudasset.searchAllIamPolicies:serviceAccounts"
	opListSAs               = "iam.projects.serviceAccounts.list"
	opListKeys              = "iam.projects.serviceAccounts.keys.list"
	opQueryActivity         = "policyanalyzer.activities.query"
	opListInsights          = "recommender.insights.list"
	opListRecommendations   = "recommender.recommendations.list"
	opListAPIKeys           = "apikeys.keys.list"
	opGetProject            = "cloudresourcemanager.projects.get"
	opListProjects          = "cloudresourcemanager.projects.list"
	opListFolders           = "cloudresourcemanager.folders.list"
	opProjectPolicy         = "cloudresourcemanager.projects.getIamPolicy"
	opGetRole               = "iam.roles.get"
	opListHMACKeys          = "storage.projects.hmacKeys.list"
	opListPools             = "iam.projects.locations.workloadIdentityPools.list"
	opListProviders         = "iam.projects.locations.workloadIdentityPools.providers.list"
)

// The facets the collector reads. Every identity is a service account;
// every grant is a role binding; usage comes from Activity Analyzer; owner
// data from project labels (read with the project) and descriptions.
var (
	facetAccounts   = nhi.IdentitiesFacet(nhi.KindGCPServiceAccount)
	facetFederated  = nhi.IdentitiesFacet(nhi.KindGCPFederatedPrincipal)
	facetUserKeys   = nhi.CredentialsFacet(nhi.CredGCPUserManagedKey)
	facetSystemKeys = nhi.CredentialsFacet(nhi.CredGCPSystemManagedKey)
	facetAPIKeys    = nhi.CredentialsFacet(nhi.CredGCPAPIKey)
	facetHMACKeys   = nhi.CredentialsFacet(nhi.CredGCPHMACKey)
	facetProviders  = nhi.CredentialsFacet(nhi.CredGCPWorkloadIdentityProvider)
	facetBindings   = nhi.GrantsFacet(grantKind)
	facetUsage      = nhi.UsageFacet(usageSource)
)

// ops is the table of operations the collector calls: the permission each
// needs and the facets its failure hides in the scope it was called for.
// No facets means the whole scope.
var ops = collectors.Ops{
	// The listing of a parent's projects, accounts and keys (project
	// labels are owner data). Its failure is answered by the per-project
	// fallback, whose own calls record what stays missing.
	opListAssets: {Permission: "cloudasset.assets.listResource (roles/cloudasset.viewer)",
		Facets: []nhi.Facet{facetAccounts, facetUserKeys, facetSystemKeys, nhi.FacetOwnership}},
	// Bindings at every level. Service agents, accounts from outside the
	// scan and GKE Workload Identity members are known only from their
	// bindings, so the identity lists are hidden with the grants.
	opSearchPolicies: {Permission: "cloudasset.assets.searchAllIamPolicies (roles/cloudasset.viewer)",
		Facets: []nhi.Facet{facetAccounts, facetFederated, facetBindings}},
	// Pool principals exist only through their bindings: without the
	// search none is reported (their grants would be incomplete).
	opSearchFederated: {Permission: "cloudasset.assets.searchAllIamPolicies (roles/cloudasset.viewer)",
		Facets: []nhi.Facet{facetFederated}},
	// A project's accounts: without them nothing of the project is known.
	opListSAs: {Permission: "iam.serviceAccounts.list (roles/iam.serviceAccountViewer)"},
	opListKeys: {Permission: "iam.serviceAccountKeys.list (roles/iam.serviceAccountViewer)",
		Facets: []nhi.Facet{facetUserKeys, facetSystemKeys}},
	opQueryActivity: {Permission: "policyanalyzer.serviceAccountLastAuthenticationActivities.query, policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query (roles/policyanalyzer.activityAnalysisViewer)",
		Facets: []nhi.Facet{facetUsage}},
	// Policy insights: which permissions of each role binding were used.
	opListInsights: {Permission: "recommender.iamPolicyInsights.list (roles/recommender.iamViewer)",
		Facets: []nhi.Facet{facetRecommender}},
	// Role recommendations: remove or replace a role binding.
	opListRecommendations: {Permission: "recommender.iamPolicyRecommendations.list (roles/recommender.iamViewer)",
		Facets: []nhi.Facet{facetRecommender}},
	// API keys are credentials of their bound account; without the list,
	// use through a bound key (an Activity Analyzer blind spot) cannot be
	// ruled out, so the project's usage is not observed either.
	opListAPIKeys: {Permission: "apikeys.keys.list (roles/serviceusage.apiKeysViewer)",
		Facets: []nhi.Facet{facetAPIKeys, facetUsage}},
	// A custom role's definition: without it, its grants are not judged.
	opGetRole: {Permission: "iam.roles.get (roles/iam.roleViewer)", Facets: []nhi.Facet{facetBindings}},
	// HMAC keys are credentials of their account and, like bound API
	// keys, an Activity Analyzer blind spot: without the list, the
	// project's usage is not observed either.
	opListHMACKeys: {Permission: "storage.hmacKeys.list (roles/storage.hmacKeyAdmin, or a custom role with that permission)",
		Facets: []nhi.Facet{facetHMACKeys, facetUsage}},
	// A project's workload identity pools and their providers: the
	// credentials of its pools' principals, and who they trust.
	// Who may impersonate each service account: without it no account's
	// trust data is complete, wherever it lives.
	opSearchAccountPolicies: {Permission: "cloudasset.assets.searchAllIamPolicies (roles/cloudasset.viewer)",
		Facets: []nhi.Facet{nhi.FacetTrust}},
	opListPools: {Permission: "iam.workloadIdentityPools.list (roles/iam.workloadIdentityPoolViewer)",
		Facets: []nhi.Facet{facetProviders, nhi.FacetTrust}},
	opListProviders: {Permission: "iam.workloadIdentityPoolProviders.list (roles/iam.workloadIdentityPoolViewer)",
		Facets: []nhi.Facet{facetProviders, nhi.FacetTrust}},
	opGetProject: {Permission: "resourcemanager.projects.get (roles/browser)",
		Facets: []nhi.Facet{nhi.FacetOwnership}},
	// Listing the projects and folders under an organisation or folder:
	// the scope itself could not be read.
	opListProjects: {Permission: "resourcemanager.projects.list (roles/browser)"},
	opListFolders:  {Permission: "resourcemanager.folders.list (roles/browser)"},
	opProjectPolicy: {Permission: "resourcemanager.projects.getIamPolicy (roles/iam.securityReviewer)",
		Facets: []nhi.Facet{facetAccounts, facetFederated, facetBindings}},
}

// translate turns an API error into the collectors sentinels, so that
// collectors.GapKind classifies it: 401/403 denied, 429 throttled (the
// retries were exhausted), 404 not found, 502/503 and an API not enabled
// (SERVICE_DISABLED) unavailable, 504 and a call that ran out of time
// timeout. Any other HTTP error keeps its status and is an error. A
// cancelled context is left as it is.
//
// The error it returns is reduced: the HTTP status, Google's status and
// reason, the permission Google names, and a short message with anything
// secret-looking removed. A response body is never kept whole (Google's
// messages can echo what was sent, and the OAuth token endpoint's errors
// echo the signed assertion), so nothing of it reaches a gap, a log line
// or an error string.
func translate(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ge *googleapi.Error
	var te *auth.Error
	switch {
	case errors.As(err, &ge):
		return apiError(err, ge)
	case errors.As(err, &te):
		return tokenError(te)
	}
	msg := shortMessage(err.Error())
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %s", collectors.ErrTimeout, msg)
	}
	return errors.New(msg)
}

// apiError reduces a Google API error.
func apiError(err error, ge *googleapi.Error) error {
	reason, status, perm := "", "", ""
	if ae, ok := apierror.FromError(err); ok {
		reason, status = ae.Reason(), upperSnake(ae.GRPCStatus().Code().String())
		perm = ae.Metadata()["permission"]
	}
	if reason == "" && len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	what := fmt.Sprintf("HTTP %d", ge.Code)
	for _, w := range []string{status, reason} {
		if w != "" && w != "OK" && w != "UNKNOWN" && errorCode.MatchString(w) {
			what += " " + w
		}
	}
	if perm != "" && permissionName.MatchString(perm) {
		what += " (permission " + perm + ")"
	}
	msg := shortMessage(ge.Message)
	var sentinel error
	switch {
	case reason == "SERVICE_DISABLED" || reason == "accessNotConfigured" || strings.Contains(ge.Message, "has not been used"):
		return fmt.Errorf("%w: API not enabled (%s): %s", collectors.ErrUnavailable, what, msg)
	case ge.Code == http.StatusForbidden || ge.Code == http.StatusUnauthorized:
		sentinel = collectors.ErrDenied
	case ge.Code == http.StatusTooManyRequests:
		sentinel = collectors.ErrThrottled
	case ge.Code == http.StatusNotFound:
		sentinel = collectors.ErrNotFound
	case ge.Code == http.StatusBadGateway || ge.Code == http.StatusServiceUnavailable:
		sentinel = collectors.ErrUnavailable
	case ge.Code == http.StatusGatewayTimeout:
		sentinel = collectors.ErrTimeout
	default:
		return fmt.Errorf("%s: %s", what, msg)
	}
	return fmt.Errorf("%w (%s): %s", sentinel, what, msg)
}

// upperSnake writes a status code as Google's error JSON names it
// ("PermissionDenied" is PERMISSION_DENIED).
func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// tokenError reduces an error of the OAuth token endpoint (or of the
// security token service, for workload identity federation): its status
// and OAuth error code, and a short description. Its body, which echoes
// the assertion the scanner signed, is dropped. The endpoint refusing the
// scanner's credentials is a denial.
func tokenError(te *auth.Error) error {
	code := 0
	if te.Response != nil {
		code = te.Response.StatusCode
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(te.Body, &body)
	what := fmt.Sprintf("token endpoint HTTP %d", code)
	if errorCode.MatchString(body.Error) {
		what += " " + body.Error
	}
	msg := "the scanner's credentials could not be exchanged for an access token"
	if d := shortMessage(body.Description); d != "" {
		msg += ": " + d
	}
	switch {
	case code == http.StatusTooManyRequests:
		return fmt.Errorf("%w (%s): %s", collectors.ErrThrottled, what, msg)
	case code >= 500:
		return fmt.Errorf("%w (%s): %s", collectors.ErrUnavailable, what, msg)
	}
	return fmt.Errorf("%w (%s): %s", collectors.ErrDenied, what, msg)
}

var (
	// errorCode is what a status, reason or OAuth error code looks like.
	errorCode = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]{0,63}$`)
	// permissionName is an IAM permission (service.resource.verb).
	permissionName = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2,3}$`)
)

// maxMessage bounds the message kept of a provider's error.
const maxMessage = 200

// shortMessage keeps the first line of a provider's message, at most
// maxMessage bytes, with every secret-looking value replaced.
func shortMessage(s string) string {
	s = scrub(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// secretLooking are values that must never be kept: signed JWTs (an OAuth
// assertion, an ID token), access and refresh tokens, API keys, PEM
// blocks.
var secretLooking = []*regexp.Regexp{
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`),
	regexp.MustCompile(`ya29\.[A-Za-z0-9_.-]+`),
	regexp.MustCompile(`1//[A-Za-z0-9_-]{16,}`),
	regexp.MustCompile(`AIza[A-Za-z0-9_-]{16,}`),
	regexp.MustCompile(`(?s)-----BEGIN[A-Z ]*-----.*?(-----END[A-Z ]*-----|$)`),
}

var (
	// opaque is a long run of base64 characters: a key, a secret, a token.
	opaque = regexp.MustCompile(`[A-Za-z0-9+/=_-]{32,}`)
	// resourceWord is a segment of a resource name or an id: a camelCase
	// collection ("serviceAccounts"), a lower-case id or a number.
	resourceWord = regexp.MustCompile(`^([a-z][a-zA-Z]*|[a-z0-9][a-z0-9._-]*|[0-9]+)?$`)
)

const redacted = "[redacted]"

// scrub replaces secret-looking values, and any long opaque run that mixes
// upper case, lower case and digits unless it reads as a resource name.
func scrub(s string) string {
	for _, re := range secretLooking {
		s = re.ReplaceAllString(s, redacted)
	}
	return opaque.ReplaceAllStringFunc(s, func(run string) string {
		if strings.ContainsAny(run, "+=") {
			return redacted
		}
		if !strings.ContainsAny(run, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !strings.ContainsAny(run, "abcdefghijklmnopqrstuvwxyz") ||
			!strings.ContainsAny(run, "0123456789") {
			return run
		}
		for _, seg := range strings.Split(run, "/") {
			if !resourceWord.MatchString(seg) {
				return redacted
			}
		}
		return run
	})
}
