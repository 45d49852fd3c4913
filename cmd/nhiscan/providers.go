package main

import (
	"context"
	"fmt"
	"os"
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
	if p.AWS != nil {
		c, err := a.awsCollector(p.AWS, ownerTagKeys)
		if err != nil {
			return nil, sectionError(nhi.AWS, err)
		}
		cs = append(cs, c)
	}
	if p.Azure != nil {
		c, err := a.azureCollector(p.Azure, ownerTagKeys)
		if err != nil {
			return nil, sectionError(nhi.Azure, err)
		}
		cs = append(cs, c)
	}
	if p.GCP != nil {
		c, err := a.gcpCollector(p.GCP, ownerTagKeys)
		if err != nil {
			return nil, sectionError(nhi.GCP, err)
		}
		cs = append(cs, c)
	}
	if p.GitHub != nil {
		c, err := a.githubCollector(p.GitHub, ownerTagKeys)
		if err != nil {
			return nil, sectionError(nhi.GitHub, err)
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, usagef("no providers configured: add a 'providers' section to the configuration, or pass --inventory FILE")
	}
	return cs, nil
}

func (a *app) awsCollector(c *config.AWS, ownerTagKeys []string) (*aws.Collector, error) {
	cfg, err := a.awsConfig(c, ownerTagKeys)
	if err != nil {
		return nil, err
	}
	return aws.New(cfg)
}

// awsConfig is the AWS section as the collector's (and the controls')
// configuration.
func (a *app) awsConfig(c *config.AWS, ownerTagKeys []string) (aws.Config, error) {
	cfg := aws.Config{
		Accounts: c.Accounts, Organization: c.Organization, RoleName: c.RoleName,
		Profile: c.Profile, SharedCredentialsFile: c.SharedCredentialsFile, Region: c.Region, Partition: c.Partition,
		EndpointURL: c.Endpoint, TrustedAccounts: c.TrustedAccounts,
		Concurrency: c.Concurrency, OwnerTagKeys: ownerTagKeys, Now: a.now, Logger: a.log, Progress: a.prog.scope,
		CallTimeout: c.CallTimeout,
	}
	if c.ExternalIDFile != "" {
		v, err := readSecretFile(c.ExternalIDFile)
		if err != nil {
			return cfg, err
		}
		cfg.ExternalID = v
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
		Progress: a.prog.scope,
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
	}
}

// sectionError is a usage error naming the provider section whose settings
// the collector refused, with the collector's own "<provider>: " prefix
// dropped so the provider is named once.
func sectionError(p nhi.Provider, err error) error {
	return usagef("providers.%s: %s", p, strings.TrimPrefix(err.Error(), string(p)+": "))
}

// readSecretFile reads a small secret-bearing file (an external id, a
// token) and trims the trailing newline. The value never reaches a log.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (a *app) githubCollector(c *config.GitHub, ownerTagKeys []string) (*github.Collector, error) {
	return github.New(a.githubConfig(c, ownerTagKeys))
}

func (a *app) githubConfig(c *config.GitHub, ownerTagKeys []string) github.Config {
	cfg := github.Config{
		Orgs: c.Organizations, BaseURL: c.BaseURL, GraphQLURL: c.GraphQLURL, SkipSAMLAuthorizations: c.SkipSAMLAuthorizations, AppID: c.AppID, AppPrivateKeyFile: c.PrivateKeyFile,
		TokenFile: c.TokenFile, Concurrency: c.Concurrency, CallTimeout: c.CallTimeout, CloudSecretPatterns: c.CloudSecretPatterns,
		Now: a.now, Logger: a.log, Cache: &a.etags, Progress: a.prog.scope,
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
