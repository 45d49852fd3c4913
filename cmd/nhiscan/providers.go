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
	"github.com/nhiscan/nhiscan/internal/store"
)

// buildCollectors turns the configuration's provider sections into
// collectors. Credentials come from each SDK's standard chain or from the
// *_file settings; nothing secret is read from the configuration itself.
func (a *app) buildCollectors(cfg config.Config) ([]collectors.Collector, error) {
	var cs []collectors.Collector
	p := cfg.Providers
	if p.AWS != nil {
		c, err := a.awsCollector(p.AWS)
		if err != nil {
			return nil, usagef("providers.aws: %v", err)
		}
		cs = append(cs, c)
	}
	if p.Azure != nil {
		c, err := a.azureCollector(p.Azure)
		if err != nil {
			return nil, usagef("providers.azure: %v", err)
		}
		cs = append(cs, c)
	}
	if p.GCP != nil {
		c, err := a.gcpCollector(p.GCP)
		if err != nil {
			return nil, usagef("providers.gcp: %v", err)
		}
		cs = append(cs, c)
	}
	if p.GitHub != nil {
		c, err := a.githubCollector(p.GitHub)
		if err != nil {
			return nil, usagef("providers.github: %v", err)
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, usagef("no providers configured: add a 'providers' section to the configuration, or pass --inventory FILE")
	}
	return cs, nil
}

func (a *app) awsCollector(c *config.AWS) (*aws.Collector, error) {
	cfg := aws.Config{
		Accounts: c.Accounts, Organization: c.Organization, RoleName: c.RoleName,
		Profile: c.Profile, SharedCredentialsFile: c.SharedCredentialsFile, Region: c.Region, Partition: c.Partition,
		EndpointURL: c.Endpoint, TrustedAccounts: c.TrustedAccounts,
		Concurrency: c.Concurrency, OwnerTagKeys: c.OwnerTags, Now: a.now, Logger: a.log, Progress: a.prog.scope,
	}
	if c.ExternalIDFile != "" {
		v, err := readSecretFile(c.ExternalIDFile)
		if err != nil {
			return nil, err
		}
		cfg.ExternalID = v
	}
	return aws.New(cfg)
}

func (a *app) azureCollector(c *config.Azure) (*azure.Collector, error) {
	cfg := azure.Config{
		TenantID: c.TenantID, Subscriptions: c.Subscriptions, Cloud: c.Cloud,
		GraphURL: c.GraphEndpoint, ResourceManagerURL: c.ARMEndpoint, AuthorityHost: c.AuthorityHost,
		Concurrency: c.Concurrency, OwnerTagKeys: c.OwnerTags, Now: a.now, Logger: a.log, Progress: a.prog.scope,
	}
	switch {
	case c.ClientSecretFile != "":
		cfg.Auth = azure.Auth{Method: azure.AuthClientSecret, ClientID: c.ClientID, ClientSecretFile: c.ClientSecretFile}
	case c.ClientCertificateFile != "":
		cfg.Auth = azure.Auth{Method: azure.AuthClientCertificate, ClientID: c.ClientID, CertificateFile: c.ClientCertificateFile}
	default:
		cfg.Auth = azure.Auth{Method: azure.AuthDefault, ClientID: c.ClientID}
	}
	return azure.New(cfg)
}

func (a *app) gcpCollector(c *config.GCP) (*gcp.Collector, error) {
	return gcp.New(gcp.Config{
		Organization: c.Organization, Folders: c.Folders, Projects: c.Projects,
		CredentialsFile: c.CredentialsFile, QuotaProject: c.QuotaProject, Endpoint: c.Endpoint, Concurrency: c.Concurrency,
		OwnerTagKeys: c.OwnerLabels, OwnerLabelDomain: c.OwnerLabelDomain, DelegatedClientIDs: c.DelegatedClientIDs,
		Now: a.now, Logger: a.log, Progress: a.prog.scope,
	})
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

func (a *app) githubCollector(c *config.GitHub) (*github.Collector, error) {
	cfg := github.Config{
		Orgs: c.Organizations, BaseURL: c.BaseURL, GraphQLURL: c.GraphQLURL, SkipSAMLAuthorizations: c.SkipSAMLAuthorizations, AppID: c.AppID, AppPrivateKeyFile: c.PrivateKeyFile,
		TokenFile: c.TokenFile, Concurrency: c.Concurrency, CloudSecretPatterns: c.CloudSecretNames,
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
	return github.New(cfg)
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
