package gcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// API operations, as named in gaps (and in the fake).
const (
	opListAssets     = "cloudasset.assets.list"
	opSearchPolicies = "cloudasset.searchAllIamPolicies"
	opListSAs        = "iam.projects.serviceAccounts.list"
	opListKeys       = "iam.projects.serviceAccounts.keys.list"
	opQueryActivity  = "policyanalyzer.activities.query"
	opListAPIKeys    = "apikeys.keys.list"
	opGetProject     = "cloudresourcemanager.projects.get"
	opListProjects   = "cloudresourcemanager.projects.list"
	opListFolders    = "cloudresourcemanager.folders.list"
	opProjectPolicy  = "cloudresourcemanager.projects.getIamPolicy"
)

// The facets the collector reads. Every identity is a service account;
// every grant is a role binding; usage comes from Activity Analyzer; owner
// data from project labels (read with the project) and descriptions.
var (
	facetAccounts   = nhi.IdentitiesFacet(nhi.KindGCPServiceAccount)
	facetUserKeys   = nhi.CredentialsFacet(nhi.CredGCPUserManagedKey)
	facetSystemKeys = nhi.CredentialsFacet(nhi.CredGCPSystemManagedKey)
	facetAPIKeys    = nhi.CredentialsFacet(nhi.CredGCPAPIKey)
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
	// Bindings at every level. Service agents and accounts from outside
	// the scan are known only from their bindings, so the identity list is
	// hidden with the grants.
	opSearchPolicies: {Permission: "cloudasset.assets.searchAllIamPolicies (roles/cloudasset.viewer)",
		Facets: []nhi.Facet{facetAccounts, facetBindings}},
	// A project's accounts: without them nothing of the project is known.
	opListSAs: {Permission: "iam.serviceAccounts.list (roles/iam.serviceAccountViewer)"},
	opListKeys: {Permission: "iam.serviceAccountKeys.list (roles/iam.serviceAccountViewer)",
		Facets: []nhi.Facet{facetUserKeys, facetSystemKeys}},
	opQueryActivity: {Permission: "policyanalyzer.serviceAccountLastAuthenticationActivities.query, policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query (roles/policyanalyzer.activityAnalysisViewer)",
		Facets: []nhi.Facet{facetUsage}},
	// API keys are credentials of their bound account; without the list,
	// use through a bound key (an Activity Analyzer blind spot) cannot be
	// ruled out, so the project's usage is not observed either.
	opListAPIKeys: {Permission: "apikeys.keys.list (roles/serviceusage.apiKeysViewer)",
		Facets: []nhi.Facet{facetAPIKeys, facetUsage}},
	opGetProject: {Permission: "resourcemanager.projects.get (roles/browser)",
		Facets: []nhi.Facet{nhi.FacetOwnership}},
	// Listing the projects and folders under an organisation or folder:
	// the scope itself could not be read.
	opListProjects: {Permission: "resourcemanager.projects.list (roles/browser)"},
	opListFolders:  {Permission: "resourcemanager.folders.list (roles/browser)"},
	opProjectPolicy: {Permission: "resourcemanager.projects.getIamPolicy (roles/iam.securityReviewer)",
		Facets: []nhi.Facet{facetAccounts, facetBindings}},
}

// translate turns an API error into the collectors sentinels, so that
// collectors.GapKind classifies it: 401/403 denied, 429 throttled (the
// retries were exhausted), 404 not found, 502/503 and an API not enabled
// (SERVICE_DISABLED) unavailable, 504 and a call that ran out of time
// timeout. Any other HTTP error keeps its status and is an error. A
// cancelled context is left as it is.
func translate(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return fmt.Errorf("%w: %w", collectors.ErrTimeout, err)
		}
		return err
	}
	reason := ""
	if ae, ok := apierror.FromError(err); ok {
		reason = ae.Reason()
	}
	if reason == "" && len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	what := fmt.Sprintf("HTTP %d", ge.Code)
	if reason != "" {
		what += " " + reason
	}
	var sentinel error
	switch {
	case reason == "SERVICE_DISABLED" || reason == "accessNotConfigured" || strings.Contains(ge.Message, "has not been used"):
		return fmt.Errorf("%w: API not enabled (%s): %s", collectors.ErrUnavailable, what, ge.Message)
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
		return fmt.Errorf("%s: %s", what, ge.Message)
	}
	return fmt.Errorf("%w (%s): %s", sentinel, what, ge.Message)
}
