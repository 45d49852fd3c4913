// Package awsfake is an in-process fake of the AWS APIs nhiscan calls: IAM
// and STS (query protocol, XML) and Organizations (JSON 1.1). It serves a
// stateful organisation from a Seed, pages like AWS (IsTruncated/Marker,
// NextToken), returns the base64 credential report and URL-encoded policy
// documents, and counts calls per operation and account. It injects the
// faults of fakeapi.Faults per account and operation (Deny, DenyAfter,
// Throttle, Fail, Timeout, Random), rendered as AWS answers them, and
// latency on request. It never returns a
// secret access key it was seeded with: seeds hold them only so tests can
// prove they never leak.
package awsfake

import "time"

// Seed is the organisation a Server serves.
type Seed struct {
	// Management is the account id of the management account: the account
	// of the base credentials and the only one that may call
	// organizations:ListAccounts.
	Management string
	Accounts   []Account
	// Now is the fake's clock for report generation times; zero means
	// time.Now.
	Now func() time.Time
	// AWSManaged holds the documents of AWS managed policies by ARN, as
	// iam:GetPolicy and iam:GetPolicyVersion serve them (version v1).
	AWSManaged map[string]string
}

// ServiceAccess is what IAM's service last accessed data (Access
// Advisor) knows of one service for one user or role: the last
// authentication (zero: none within the tracking period) and, for the
// services whose actions IAM tracks, the last use of each action.
type ServiceAccess struct {
	Namespace         string
	LastAuthenticated time.Time
	Region            string
	// Actions maps an action name ("GetObject") to its last use.
	Actions map[string]time.Time
}

// Account is one AWS account.
type Account struct {
	ID    string
	Name  string
	Email string
	// State is ACTIVE, SUSPENDED or PENDING_CLOSURE; empty means ACTIVE.
	State    string
	Joined   time.Time
	Users    []User
	Roles    []Role
	Groups   []Group
	Policies []Policy // customer managed policies
	// UnusedAnalyzer, when set, is an IAM Access Analyzer unused access
	// analyzer in the account: of the account (ACCOUNT_UNUSED_ACCESS), or
	// of the whole organisation (ORGANIZATION_UNUSED_ACCESS, in the
	// management account). Its findings are computed from the users' and
	// roles' LastAccessed and their policies.
	UnusedAnalyzer *Analyzer
}

// Analyzer is an unused access analyzer.
type Analyzer struct {
	Name         string
	Organization bool
	// UnusedAccessAge is its tracking window in days (default 90).
	UnusedAccessAge int
}

// User is an IAM user.
type User struct {
	Name    string
	ID      string // AIDA…
	Path    string
	Created time.Time
	Tags    map[string]string
	Groups  []string
	// Attached are managed policy ARNs.
	Attached []string
	// Inline maps policy name to JSON document.
	Inline map[string]string
	// PermissionsBoundary is the ARN of the user's permissions boundary.
	PermissionsBoundary string
	PasswordEnabled     bool
	PasswordLastUsed    time.Time
	MFA                 bool
	AccessKeys          []AccessKey
	ServiceCreds        []ServiceCred
	// LastAccessed is the user's service last accessed data.
	LastAccessed []ServiceAccess
}

// AccessKey is an access key of a user.
type AccessKey struct {
	ID      string // AKIA…
	Secret  string // never served; only for leak tests
	Active  bool
	Created time.Time
	// LastUsed is zero when never used.
	LastUsed        time.Time
	LastUsedService string
	LastUsedRegion  string
}

// ServiceCred is a service-specific credential (CodeCommit HTTPS password,
// Bedrock API key…).
type ServiceCred struct {
	ID          string // ACCA…
	ServiceName string // codecommit.amazonaws.com, bedrock.amazonaws.com
	Alias       string
	Password    string // never served; only for leak tests
	Active      bool
	Created     time.Time
	Expires     time.Time
}

// Role is an IAM role.
type Role struct {
	Name    string
	ID      string // AROA…
	Path    string
	Created time.Time
	Tags    map[string]string
	// Trust is the JSON trust (assume-role) policy.
	Trust          string
	Attached       []string
	Inline         map[string]string
	LastUsed       time.Time
	LastUsedRegion string
	// ExternalID, when set, must be passed by sts:AssumeRole callers.
	ExternalID string
	// Description is free text (hostile input: tests put markup and
	// control characters in it). ListRoles and GetRole return it;
	// GetAccountAuthorizationDetails does not.
	Description string
	// MaxSessionDuration is in seconds; 0 means IAM's default, 3600.
	MaxSessionDuration int
	// PermissionsBoundary is the ARN of the role's permissions boundary.
	PermissionsBoundary string
	// LastAccessed is the role's service last accessed data.
	LastAccessed []ServiceAccess
}

// Group is an IAM group.
type Group struct {
	Name     string
	ID       string // AGPA…
	Path     string
	Created  time.Time
	Attached []string
	Inline   map[string]string
}

// Policy is a customer managed policy.
type Policy struct {
	Name     string
	ID       string // ANPA…
	Path     string
	Created  time.Time
	Document string
}
