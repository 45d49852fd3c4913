package aws

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
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
	opKeyLastUsed    = "iam:GetAccessKeyLastUsed"
	opListRoles      = "iam:ListRoles"
	// Service last accessed data (Access Advisor) and the AWS managed
	// policy documents it is matched against.
	opGenerateLastAccessed = "iam:GenerateServiceLastAccessedDetails"
	opGetLastAccessed      = "iam:GetServiceLastAccessedDetails"
	opGetPolicy            = "iam:GetPolicy"
	opGetPolicyVersion     = "iam:GetPolicyVersion"
	// IAM Access Analyzer's unused access findings, read instead where
	// the account has an unused access analyzer.
	opListFindingsV2 = "access-analyzer:ListFindingsV2"
)

// The facets the collector reads in an account.
var (
	facetUsers        = nhi.IdentitiesFacet(nhi.KindAWSUser)
	facetRoles        = nhi.IdentitiesFacet(nhi.KindAWSRole)
	facetAccessKeys   = nhi.CredentialsFacet(nhi.CredAWSAccessKey)
	facetServiceCreds = nhi.CredentialsFacet(nhi.CredAWSServiceSpecific)
	facetReportUsage  = nhi.UsageFacet(sourceReport)
	facetRoleUsage    = nhi.UsageFacet(sourceRoleLastUsed)
	facetKeyUsage     = nhi.UsageFacet(sourceKeyLastUsed)
	// facetRoleDetails is the roles' descriptions and maximum session
	// durations, which only ListRoles returns. It refines the role
	// identity list (a subject of its own under "identities"): no rule
	// reads it, so its gap holds back no finding and hides no role.
	facetRoleDetails = facetRoles + ":details"
)

// Usage sources.
const (
	sourceReport       = "credential-report"
	sourceRoleLastUsed = "role-last-used"
	// sourceKeyLastUsed is GetAccessKeyLastUsed, read only for keys the
	// credential report cannot tell apart.
	sourceKeyLastUsed = "access-key-last-used"
)

// accountFacets lists every facet the collector reads in each account:
// users, roles, their grants, trust policies and owner tags from
// GetAccountAuthorizationDetails; access keys and service-specific
// credentials from their list calls; user usage and console login from the
// credential report; role usage from RoleLastUsed; the usage of keys the
// report cannot tell apart from GetAccessKeyLastUsed; role descriptions and
// maximum session durations from ListRoles.
var accountFacets = []nhi.Facet{
	facetUsers, facetRoles, facetRoleDetails, facetAccessKeys, facetServiceCreds,
	nhi.GrantsFacet("managed-policy"), nhi.GrantsFacet("inline-policy"), nhi.GrantsFacet("group-policy"),
	facetReportUsage, facetRoleUsage, facetKeyUsage, nhi.FacetLogin, nhi.FacetTrust, nhi.FacetOwnership,
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
	opKeyLastUsed:    {Permission: "iam:GetAccessKeyLastUsed", Facets: []nhi.Facet{facetKeyUsage}},
	opListRoles:      {Permission: "iam:ListRoles", Facets: []nhi.Facet{facetRoleDetails}},

	opGenerateLastAccessed: {Permission: "iam:GenerateServiceLastAccessedDetails", Facets: []nhi.Facet{facetAccessAdvisor}},
	opGetLastAccessed:      {Permission: "iam:GetServiceLastAccessedDetails", Facets: []nhi.Facet{facetAccessAdvisor}},
	opGetPolicy:            {Permission: "iam:GetPolicy", Facets: []nhi.Facet{facetAccessAdvisor}},
	opGetPolicyVersion:     {Permission: "iam:GetPolicyVersion", Facets: []nhi.Facet{facetAccessAdvisor}},
	opListFindingsV2:       {Permission: "access-analyzer:ListFindingsV2, access-analyzer:GetFindingV2", Facets: []nhi.Facet{facetAccessAnalyzer}},
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

// translate wraps an SDK error with the collectors sentinel it stands for,
// and reduces its text (see reduce): a provider's error body never reaches
// a gap, a log line or an error string. The SDK has already retried
// throttling, 5xx answers and timeouts, so a throttling code here means its
// retries were exhausted. Network timeouts and ended contexts keep no
// sentinel: collectors.GapKind reads them through the wrapped error.
// translate is idempotent.
func translate(err error) error {
	var done *reducedError
	if err == nil || errors.As(err, &done) {
		return err
	}
	return &reducedError{text: reduce(err), kind: sentinel(err), cause: err}
}

// sentinel returns the collectors sentinel an SDK error stands for, or nil.
func sentinel(err error) error {
	code := apiCode(err)
	switch {
	case deniedCodes[code]:
		return collectors.ErrDenied
	case throttleCodes[code]:
		return collectors.ErrThrottled
	case timeoutCodes[code]:
		return collectors.ErrTimeout
	case unavailableCodes[code], httpStatus(err) == http.StatusServiceUnavailable:
		return collectors.ErrUnavailable
	case code == "NoSuchEntity":
		return collectors.ErrNotFound
	case code == "UnmodifiableEntity":
		// A service-linked role: only AWS may change it.
		return collectors.ErrUnsupported
	}
	return nil
}

// reducedError is an SDK error whose text was reduced. Error returns only
// the reduced text; errors.Is and errors.As still reach the sentinel and
// the SDK error (for GapKind and the API code).
type reducedError struct {
	text  string
	kind  error
	cause error
}

func (e *reducedError) Error() string {
	if e.kind != nil {
		return e.kind.Error() + ": " + e.text
	}
	return e.text
}

func (e *reducedError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.cause}
}

// maxMessage bounds the provider's message kept in a reduced error.
const maxMessage = 200

// reduce returns err's text with the SDK's error replaced by what a gap
// may keep: the service and operation, the HTTP status, the provider's
// error code and the first maxMessage bytes of its message, with anything
// that looks like a secret redacted. The request id and the rest of the
// body are dropped. The text of errors that are not API errors (network
// failures, deadlines) is kept, redacted.
func reduce(err error) string {
	s := err.Error()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return redact(s)
	}
	var raw error = ae
	short := fmt.Sprintf("api error %s: %s", redact(ae.ErrorCode()), redact(bound(ae.ErrorMessage(), maxMessage)))
	if st := httpStatus(err); st != 0 {
		short = fmt.Sprintf("HTTP %d, %s", st, short)
	}
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		short = fmt.Sprintf("%s (after %d attempts)", short, me.Attempt)
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		raw = oe
		short = fmt.Sprintf("%s %s: %s", oe.ServiceID, oe.OperationName, short)
	}
	// Keep what callers wrapped around the SDK error ("assume …: ").
	if i := strings.Index(s, raw.Error()); i >= 0 {
		return redact(s[:i]) + short + redact(s[i+len(raw.Error()):])
	}
	return short
}

// bound cuts s to at most n bytes at a rune boundary, on one line.
func bound(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// redacted replaces a secret-looking run in an error text.
const redacted = "[redacted]"

// tokenRun matches runs of the characters secrets and tokens are written
// with (base64, base64url, hex).
var tokenRun = regexp.MustCompile(`[A-Za-z0-9+/=_-]{20,}`)

// redact replaces every run that looks like key material, a token or a
// signed assertion: at least 20 characters mixing upper case, lower case
// and digits, or at least 32 mixing letters and digits. Names, ARNs, ids
// such as AKIA… and host names are kept.
func redact(s string) string {
	return tokenRun.ReplaceAllStringFunc(s, func(run string) string {
		var lower, upper, digit bool
		for _, c := range run {
			switch {
			case c >= 'a' && c <= 'z':
				lower = true
			case c >= 'A' && c <= 'Z':
				upper = true
			case c >= '0' && c <= '9':
				digit = true
			}
		}
		if digit && lower && upper || len(run) >= 32 && digit && (lower || upper) {
			return redacted
		}
		return run
	})
}
