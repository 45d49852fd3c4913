// Package githubfake is an in-process fake of the GitHub REST endpoints and
// the GraphQL query the github collector uses. It follows the documented
// wire format: Link-header paging, X-RateLimit-* headers, ETag and 304 Not
// Modified, 403 and 429 with Retry-After for secondary limits, permission
// errors per endpoint, GitHub App JWT authentication and installation
// tokens. It is stateful (deleting a deploy key or revoking a token changes
// what the next scan sees) and counts calls per API operation.
//
// It is used by the collector's tests and by `nhiscan demo`. It never
// talks to the network beyond its own loopback listener.
package githubfake

import (
	"time"
)

// Seed is the state a fake starts from.
type Seed struct {
	// App is the GitHub App the scanner authenticates as; nil means App
	// authentication is not served.
	App *App
	// Tokens are static tokens (classic PATs) the fake accepts.
	Tokens []StaticToken
	Orgs   []Org
}

// App is a GitHub App with an installation in some organisations.
type App struct {
	ID int64
	// PrivateKeyPEM is the app's RSA private key (PKCS#1 or PKCS#8 PEM).
	// The fake verifies JWTs with its public half.
	PrivateKeyPEM []byte
	// Installations maps organisation login to the installation of this app
	// there: its id and the permissions it was granted.
	Installations map[string]AppInstallation
}

// AppInstallation is the scanner app's own installation in one org.
type AppInstallation struct {
	ID          int64
	Permissions map[string]string
	// Repositories, when set, are the only repositories the installation
	// was given (repository_selection "selected"): its tokens see no
	// other. Nil means all repositories.
	Repositories []string
}

// StaticToken is a classic personal access token the fake accepts.
type StaticToken struct {
	Value  string
	Login  string
	Scopes []string
}

// Org is one organisation.
type Org struct {
	ID    int64
	Login string
	Name  string
	// SAML marks an org that uses SAML single sign-on (GitHub Enterprise
	// Cloud): only then is the credential-authorizations list served.
	SAML                     bool
	Members                  []string
	OutsideCollaborators     []string
	Repos                    []Repo
	Installations            []Installation
	FineGrainedTokens        []FineGrainedToken
	CredentialAuthorizations []CredentialAuthorization
	Secrets                  []Secret
}

// Repo is one repository.
type Repo struct {
	ID           int64
	Name         string
	Private      bool
	Archived     bool
	Created      time.Time
	Pushed       time.Time
	DeployKeys   []DeployKey
	Secrets      []Secret
	Environments []Environment
	// Properties are the repository's custom property values (team, owner).
	Properties map[string]string
}

// DeployKey is an SSH key with access to one repository.
type DeployKey struct {
	ID       int64
	Title    string
	Key      string // the public key
	ReadOnly bool
	Created  time.Time
	AddedBy  string
	LastUsed time.Time // zero: never used
	Disabled bool
	// Raw replaces fields of the item's JSON as the fake serves it (a
	// malformed timestamp, a missing id), to prove the collector keeps
	// the rest.
	Raw map[string]any
}

// Environment is a deployment environment with its own secrets.
type Environment struct {
	ID      int64
	Name    string
	Secrets []Secret
}

// Secret is an Actions secret. Value is held only to prove it never
// leaves the fake: no endpoint returns it.
type Secret struct {
	Name       string
	Created    time.Time
	Updated    time.Time
	Visibility string // org secrets: all, private, selected
	Value      string
	// Raw replaces fields of the item's JSON as the fake serves it (a
	// malformed timestamp, a missing id), to prove the collector keeps
	// the rest.
	Raw map[string]any
}

// Installation is a GitHub App installed in the org.
type Installation struct {
	ID                  int64
	AppID               int64
	AppSlug             string
	RepositorySelection string // all | selected
	Permissions         map[string]string
	Events              []string
	Created             time.Time
	Updated             time.Time
	Suspended           time.Time
	SuspendedBy         string
	// Raw replaces fields of the item's JSON as the fake serves it (a
	// malformed timestamp, a missing id), to prove the collector keeps
	// the rest.
	Raw map[string]any
}

// FineGrainedToken is a fine-grained PAT with access to the org.
type FineGrainedToken struct {
	ID                  int64 // pat_id: the grant of access to this org
	TokenID             int64
	Name                string
	Owner               string
	OwnerID             int64
	RepositorySelection string // none | all | subset
	// Repositories are the names of the repositories a subset token
	// reaches.
	Repositories    []string
	OrgPermissions  map[string]string
	RepoPermissions map[string]string
	AccessGranted   time.Time
	Expires         time.Time // zero: never
	LastUsed        time.Time // zero: never used
	Value           string    // held only to prove it never leaks
	// Raw replaces fields of the item's JSON as the fake serves it (a
	// malformed timestamp, a missing id), to prove the collector keeps
	// the rest.
	Raw map[string]any
}

// CredentialAuthorization is a classic PAT, SSH key, OAuth app token or
// GitHub App user token authorised for SAML single sign-on.
type CredentialAuthorization struct {
	CredentialID           int64
	Login                  string
	Type                   string // "personal access token" | "SSH key" | "OAuth app token" | "GitHub app token"
	Scopes                 []string
	Authorized             time.Time
	Accessed               time.Time // zero: never
	Expires                time.Time // zero: never
	AuthorizedCredentialID int64
	Title                  string // SSH key title
	Note                   string // PAT note
	Fingerprint            string
	Value                  string // held only to prove it never leaks
	// Raw replaces fields of the item's JSON as the fake serves it (a
	// malformed timestamp, a missing id), to prove the collector keeps
	// the rest.
	Raw map[string]any
}
