package main

import (
	"context"
	"strings"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/github"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// buildCollectors turns the configuration's provider sections into
// collectors. Credentials come from each SDK's standard chain or from the
// *_file settings; nothing secret is read from the configuration itself.
// Which tag keys name an owner is the catalog's to say (owner_tag_keys):
// every collector reads the same keys as the analyzer.
func (a *app) buildCollectors(cfg config.Config, ownerTagKeys []string) ([]collectors.Collector, error) {
	var cs []collectors.Collector
	p := cfg.Providers
	for _, b := range []struct {
		p     nhi.Provider
		set   bool
		build func() (collectors.Collector, error)
	}{
		{nhi.AWS, p.AWS != nil, func() (collectors.Collector, error) { return a.awsCollector(p.AWS, cfg.FilesOf("aws"), ownerTagKeys) }},
		{nhi.Azure, p.Azure != nil, func() (collectors.Collector, error) { return a.azureCollector(p.Azure, ownerTagKeys) }},
		{nhi.GCP, p.GCP != nil, func() (collectors.Collector, error) { return a.gcpCollector(p.GCP, ownerTagKeys) }},
		{nhi.GitHub, p.GitHub != nil, func() (collectors.Collector, error) { return a.githubCollector(p.GitHub, ownerTagKeys) }},
	} {
		if !b.set {
			continue
		}
		// Every *_file the section names must be a readable regular file
		// within its limit; a problem names the setting, never its value.
		if err := cfg.CheckFiles(string(b.p)); err != nil {
			return nil, usageError{err}
		}
		c, err := b.build()
		if err != nil {
			return nil, sectionError(b.p, err, cfg.FilesOf(string(b.p)))
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, usagef("no providers configured: add a 'providers' section to the configuration, or pass --inventory FILE")
	}
	return cs, nil
}

func (a *app) awsCollector(c *config.AWS, files []config.FileSetting, ownerTagKeys []string) (*aws.Collector, error) {
	cfg, err := a.awsConfig(c, files, ownerTagKeys)
	if err != nil {
		return nil, err
	}
	return aws.New(cfg)
}

// awsConfig is the AWS section as the collector's (and the controls')
// configuration.
func (a *app) awsConfig(c *config.AWS, files []config.FileSetting, ownerTagKeys []string) (aws.Config, error) {
	cfg := aws.Config{
		Accounts: c.Accounts, Organization: c.Organization, RoleName: c.RoleName,
		Profile: c.Profile, SharedCredentialsFile: c.SharedCredentialsFile, Region: c.Region, Partition: c.Partition,
		EndpointURL: c.Endpoint, TrustedAccounts: c.TrustedAccounts,
		Concurrency: c.Concurrency, OwnerTagKeys: ownerTagKeys, Now: a.now, Logger: a.log, Progress: a.prog.scope,
		CallTimeout: c.CallTimeout,
		MaxRetries:  c.MaxRetries, RetryBaseDelay: c.RetryBaseDelay, MaxRetryDelay: c.MaxRetryDelay,
		LastAccessed: c.LastAccessed, LastAccessedMaxJobs: c.LastAccessedMaxJobs,
		LastAccessedRate: c.LastAccessedRate, LastAccessedTimeout: c.LastAccessedTimeout,
		OutsideBaseline: a.outsideBaseline,
		Calls:           a.calls,
	}
	for _, f := range files {
		if f.Key == "providers.aws.external_id_file" {
			b, err := f.Read()
			if err != nil {
				return cfg, usageError{err}
			}
			// The value never reaches a log.
			cfg.ExternalID = strings.TrimSpace(string(b))
		}
	}
	return cfg, nil
}

func (a *app) azureCollector(c *config.Azure, ownerTagKeys []string) (*azure.Collector, error) {
	return azure.New(a.azureConfig(c, ownerTagKeys))
}

func (a *app) azureConfig(c *config.Azure, ownerTagKeys []string) azure.Config {
	cfg := azure.Config{
		TenantID: c.TenantID, Subscriptions: c.Subscriptions, Cloud: c.Cloud,
		GraphURL: c.GraphEndpoint, ResourceManagerURL: c.ARMEndpoint, AuthorityHost: c.AuthorityHost,
		Concurrency: c.Concurrency, CallTimeout: c.CallTimeout, SignInReports: c.SignInReports, OwnerTagKeys: ownerTagKeys, Now: a.now, Logger: a.log,
		Progress:   a.prog.scope,
		MaxRetries: c.MaxRetries, RetryBaseDelay: c.RetryBaseDelay, MaxRetryDelay: c.MaxRetryDelay,
		Calls: a.calls,
	}
	switch {
	case c.ClientSecretFile != "":
		cfg.Auth = azure.Auth{Method: azure.AuthClientSecret, ClientID: c.ClientID, ClientSecretFile: c.ClientSecretFile}
	case c.ClientCertificateFile != "":
		cfg.Auth = azure.Auth{Method: azure.AuthClientCertificate, ClientID: c.ClientID, CertificateFile: c.ClientCertificateFile}
	default:
		cfg.Auth = azure.Auth{Method: azure.AuthDefault, ClientID: c.ClientID}
	}
	return cfg
}

func (a *app) gcpCollector(c *config.GCP, ownerTagKeys []string) (*gcp.Collector, error) {
	return gcp.New(a.gcpConfig(c, ownerTagKeys))
}

func (a *app) gcpConfig(c *config.GCP, ownerTagKeys []string) gcp.Config {
	return gcp.Config{
		Organization: c.Organization, Folders: c.Folders, Projects: c.Projects,
		CredentialsFile: c.CredentialsFile, QuotaProject: c.QuotaProject, Endpoint: c.Endpoint, Concurrency: c.Concurrency,
		OwnerTagKeys: ownerTagKeys, OwnerLabelDomain: c.OwnerLabelDomain, DelegatedClientIDs: c.DelegatedClientIDs,
		CallTimeout: c.CallTimeout, Now: a.now, Logger: a.log, Progress: a.prog.scope,
		MaxRetries: c.MaxRetries, RetryBaseDelay: c.RetryBaseDelay, MaxRetryDelay: c.MaxRetryDelay,
		Calls: a.calls,
	}
}

// sectionError is a usage error naming the provider section whose settings
// the collector refused, with the collector's own "<provider>: " prefix
// dropped so the provider is named once. The path of every *_file setting
// of the section is replaced by the setting's name: a collector or SDK
// error quotes the path it failed to read, and that path may be a secret
// pasted in its place.
func sectionError(p nhi.Provider, err error, files []config.FileSetting) error {
	msg := strings.TrimPrefix(err.Error(), string(p)+": ")
	for _, f := range files {
		msg = f.Redact(msg)
	}
	return usagef("providers.%s: %s", p, msg)
}

func (a *app) githubCollector(c *config.GitHub, ownerTagKeys []string) (*github.Collector, error) {
	return github.New(a.githubConfig(c, ownerTagKeys))
}

func (a *app) githubConfig(c *config.GitHub, ownerTagKeys []string) github.Config {
	cfg := github.Config{
		Orgs: c.Organizations, BaseURL: c.BaseURL, GraphQLURL: c.GraphQLURL, SkipSAMLAuthorizations: c.SkipSAMLAuthorizations, AppID: c.AppID, AppPrivateKeyFile: c.PrivateKeyFile,
		TokenFile: c.TokenFile, Concurrency: c.Concurrency, CallTimeout: c.CallTimeout, CloudSecretPatterns: c.CloudSecretPatterns,
		Now: a.now, Logger: a.log, Cache: &a.etags, Progress: a.prog.scope,
		MaxRetries: c.MaxRetries, RetryBaseDelay: c.RetryBaseDelay, MaxRetryDelay: c.MaxRetryDelay,
		Calls: a.calls,
	}
	if c.InstallationID != 0 {
		cfg.AppInstallationIDs = map[string]int64{}
		for _, org := range c.Organizations {
			cfg.AppInstallationIDs[org] = c.InstallationID
		}
	}
	if c.TokenFile == "" && c.AppID == 0 {
		cfg.TokenEnv = "GITHUB_TOKEN"
	}
	cfg.OwnerTagKeys = ownerTagKeys
	return cfg
}

// etagCache hands the GitHub collector the store's ETag table once the
// store is open (collectors are built, and validated, before anything is
// written). Until then it caches nothing.
type etagCache struct{ st *store.Store }

func (c *etagCache) GetETag(ctx context.Context, key string) (string, []byte, bool, error) {
	if c.st == nil {
		return "", nil, false, nil
	}
	return c.st.GetETag(ctx, key)
}

func (c *etagCache) PutETag(ctx context.Context, key, etag string, body []byte) error {
	if c.st == nil {
		return nil
	}
	return c.st.PutETag(ctx, key, etag, body)
}
