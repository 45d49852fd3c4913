package aws

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// The operations the collector calls, by the name a gap records as its
// source.
const (
	opAssumeRole     = "sts:AssumeRole"
	opListAccounts   = "organizations:ListAccounts"
	opAuthDetails    = "iam:GetAccountAuthorizationDetails"
	opServiceCreds   = "iam:ListServiceSpecificCredentials"
	opGenerateReport = "iam:GenerateCredentialReport"
	opGetReport      = "iam:GetCredentialReport"
	opAccessKeys     = "iam:ListAccessKeys"
)

// The facets the collector reads in an account.
var (
	facetUsers        = nhi.IdentitiesFacet(nhi.KindAWSUser)
	facetRoles        = nhi.IdentitiesFacet(nhi.KindAWSRole)
	facetAccessKeys   = nhi.CredentialsFacet(nhi.CredAWSAccessKey)
	facetServiceCreds = nhi.CredentialsFacet(nhi.CredAWSServiceSpecific)
	facetReportUsage  = nhi.UsageFacet(sourceReport)
	facetRoleUsage    = nhi.UsageFacet(sourceRoleLastUsed)
)

// Usage sources.
const (
	sourceReport       = "credential-report"
	sourceRoleLastUsed = "role-last-used"
)

// accountFacets lists every facet the collector reads in each account:
// users, roles, their grants, trust policies and owner tags from
// GetAccountAuthorizationDetails; access keys and service-specific
// credentials from their list calls; user usage and console login from the
// credential report; role usage from RoleLastUsed.
var accountFacets = []nhi.Facet{
	facetUsers, facetRoles, facetAccessKeys, facetServiceCreds,
	nhi.GrantsFacet("managed-policy"), nhi.GrantsFacet("inline-policy"), nhi.GrantsFacet("group-policy"),
	facetReportUsage, facetRoleUsage, nhi.FacetLogin, nhi.FacetTrust, nhi.FacetOwnership,
}

// ops is the permission each operation needs and the facets its failure
// hides in the account. Without the role (AssumeRole) or the identity list
// (GetAccountAuthorizationDetails) nothing of the account is read, so their
// gaps hide the whole account. The credential report feeds usage and the
// console login state (password_enabled, mfa_active); keys are then listed
// for every user. An incomplete organisation listing leaves accounts of the
// organisation unknown, which trust policies may name: it hides the trust
// facet of every account scanned.
var ops = collectors.Ops{
	opAssumeRole:     {Permission: "sts:AssumeRole"},
	opAuthDetails:    {Permission: "iam:GetAccountAuthorizationDetails"},
	opListAccounts:   {Permission: "organizations:ListAccounts", Facets: []nhi.Facet{nhi.FacetTrust}},
	opServiceCreds:   {Permission: "iam:ListServiceSpecificCredentials", Facets: []nhi.Facet{facetServiceCreds}},
	opGenerateReport: {Permission: "iam:GenerateCredentialReport", Facets: []nhi.Facet{facetReportUsage, nhi.FacetLogin}},
	opGetReport:      {Permission: "iam:GetCredentialReport", Facets: []nhi.Facet{facetReportUsage, nhi.FacetLogin}},
	opAccessKeys:     {Permission: "iam:ListAccessKeys", Facets: []nhi.Facet{facetAccessKeys}},
}

var deniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true,
	"AWSOrganizationsNotInUseException": true, "InvalidClientTokenId": true, "ExpiredToken": true,
	"UnrecognizedClientException": true,
}

var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
}

var unavailableCodes = map[string]bool{
	"ServiceUnavailable": true, "ServiceUnavailableException": true, "Unavailable": true,
}

var timeoutCodes = map[string]bool{
	"RequestTimeout": true, "RequestTimeoutException": true,
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// translate wraps an SDK error with the collectors sentinel it stands for.
// The SDK has already retried throttling, 5xx answers and timeouts, so a
// throttling code here means its retries were exhausted. Network timeouts
// and ended contexts are left as they are: collectors.GapKind reads them.
func translate(err error) error {
	if err == nil {
		return nil
	}
	code := apiCode(err)
	switch {
	case deniedCodes[code]:
		return fmt.Errorf("%w: %w", collectors.ErrDenied, err)
	case throttleCodes[code]:
		return fmt.Errorf("%w: %w", collectors.ErrThrottled, err)
	case timeoutCodes[code]:
		return fmt.Errorf("%w: %w", collectors.ErrTimeout, err)
	case unavailableCodes[code], httpStatus(err) == http.StatusServiceUnavailable:
		return fmt.Errorf("%w: %w", collectors.ErrUnavailable, err)
	case code == "NoSuchEntity":
		return fmt.Errorf("%w: %w", collectors.ErrNotFound, err)
	case code == "UnmodifiableEntity":
		// A service-linked role: only AWS may change it.
		return fmt.Errorf("%w: %w", collectors.ErrUnsupported, err)
	}
	return err
}
