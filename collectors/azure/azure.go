// Package azure collects the non-human identities of one Microsoft Entra
// tenant and its Azure subscriptions: app registrations with their client
// secrets, certificates and federated credentials, service principals
// (including third-party and forgotten service-principal credentials),
// managed identities, their owners, directory roles, application
// permissions and Azure RBAC role assignments, and their last use from the
// Entra sign-in activity reports. It also performs the credential controls
// (disable or enable a service principal, remove a secret, certificate or
// federated credential, restore a certificate or federated credential)
// through a separate type, Controls.
//
// Microsoft Graph is called as plain REST through an azcore pipeline (its
// retry policy honours Retry-After); Azure Resource Manager through the
// armsubscriptions, armauthorization and armmsi clients. The package never
// requests, stores or logs a secret value, and never acts unless
// Controls.Act is called.
package azure

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Config configures a Collector. Secrets are never inline: a client secret
// or certificate comes from a file (ClientSecretFile, CertificateFile) or
// from the azidentity environment variables.
type Config struct {
	// TenantID is the Entra tenant to scan. Required.
	TenantID string
	// TenantName is an optional display name for the tenant scope.
	TenantName string
	// Subscriptions limits the Azure subscriptions scanned; empty means
	// every subscription the credential can list.
	Subscriptions []string
	// Cloud is "public" (default), "usgovernment" or "china". It selects
	// the authority, Graph and ARM endpoints and token audiences.
	Cloud string
	// GraphURL overrides the cloud's Microsoft Graph endpoint, e.g.
	// "https://dod-graph.microsoft.us" or a local fake.
	GraphURL string
	// ResourceManagerURL overrides the cloud's ARM endpoint.
	ResourceManagerURL string
	// AuthorityHost overrides the cloud's Entra authority host.
	AuthorityHost string
	// Auth selects how to obtain tokens when Credential is nil.
	Auth Auth
	// Credential, when set, is used as is (tests and the demo pass the
	// fake's static credential).
	Credential azcore.TokenCredential
	// HTTPClient is the transport for every call (optional).
	HTTPClient *http.Client
	// Concurrency bounds parallel calls (default 8).
	Concurrency int
	// OwnerTagKeys are tag keys read as owner hints (default "owner").
	OwnerTagKeys []string
	// SignInReports turns the beta sign-in activity reports on or off.
	// nil means by cloud: on in the public cloud, off in the US
	// Government and China clouds, where the beta reports do not exist.
	// When off, usage is unknown, with a gap saying why.
	SignInReports *bool
	// SkipSignInReports turns the reports off whatever SignInReports
	// says (kept for earlier callers).
	SkipSignInReports bool
	// MaxRetries is how often a throttled or failed call is retried after
	// its first attempt (default 3; negative: never); RetryBaseDelay is the
	// first wait of the exponential backoff between retries of an answer
	// without Retry-After (default 800ms, the SDK's; negative: no wait);
	// MaxRetryDelay caps each wait (default 2 minutes): a longer
	// Retry-After is not waited for, and the call is a throttled gap. They
	// configure azcore's retry policy.
	MaxRetries     int
	RetryBaseDelay time.Duration
	MaxRetryDelay  time.Duration
	// CallTimeout bounds each HTTP attempt (default 60s): a call that
	// hangs past it is retried, then recorded as a timeout gap instead of
	// hanging the scan.
	CallTimeout time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives debug and warning logs (optional).
	Logger *slog.Logger
	// Progress is told as the Entra directory and each subscription finish
	// (optional).
	Progress collectors.Progress
	// Calls hears every HTTP attempt with its operation and outcome
	// (metrics); nil: nobody listens.
	Calls collectors.CallObserver
}

// Auth methods.
const (
	AuthDefault           = "default"
	AuthEnvironment       = "environment"
	AuthWorkloadIdentity  = "workload-identity"
	AuthManagedIdentity   = "managed-identity"
	AuthClientSecret      = "client-secret"
	AuthClientCertificate = "client-certificate"
	AuthAzureCLI          = "azure-cli"
)

// Auth selects an azidentity credential.
type Auth struct {
	// Method is one of the Auth* constants; empty means AuthDefault (the
	// DefaultAzureCredential chain: environment, workload identity,
	// managed identity, Azure CLI...).
	Method string
	// ClientID is the app (client) id for client-secret and
	// client-certificate, or the user-assigned identity's client id for
	// managed-identity and workload-identity (optional there).
	ClientID string
	// ClientSecretFile holds the client secret (client-secret).
	ClientSecretFile string
	// CertificateFile is a PEM or PKCS#12 file with the certificate and its
	// private key (client-certificate).
	CertificateFile string
	// CertificatePasswordFile holds the certificate's password, if any.
	CertificatePasswordFile string
}

// Collector inventories one Entra tenant and its subscriptions. It only
// reads: the credential controls are a separate type (Controls).
type Collector struct {
	clients
}

// New checks the configuration and builds a Collector. It contacts nothing.
func New(cfg Config) (*Collector, error) {
	cl, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	return &Collector{clients: *cl}, nil
}

// Defaults of the Config.
const (
	defaultCallTimeout = 60 * time.Second
	// defaultMaxRetryDelay: a longer Retry-After is not waited for.
	defaultMaxRetryDelay = 2 * time.Minute
)

// clients are what New and NewControls build from a Config: the
// configuration with its defaults, the credential, the Graph pipeline and
// the ARM client options.
type clients struct {
	cfg     Config
	cred    azcore.TokenCredential
	graph   *graphClient
	armOpts *arm.ClientOptions
	log     *slog.Logger
}

func newClients(cfg Config) (*clients, error) {
	if cfg.TenantID == "" {
		return nil, errors.New("azure: tenant_id is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if len(cfg.OwnerTagKeys) == 0 {
		cfg.OwnerTagKeys = []string{"owner"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl, graphURL, graphAudience, err := cloudConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = defaultMaxRetryDelay
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = defaultCallTimeout
	}
	co := policy.ClientOptions{
		Cloud: cl,
		Retry: policy.RetryOptions{MaxRetries: int32(cfg.MaxRetries), RetryDelay: cfg.RetryBaseDelay,
			MaxRetryDelay: cfg.MaxRetryDelay, TryTimeout: cfg.CallTimeout},
	}
	if cfg.HTTPClient != nil {
		co.Transport = cfg.HTTPClient
	}
	if cfg.Calls != nil {
		co.PerRetryPolicies = append(co.PerRetryPolicies, observePolicy{cfg.Calls})
	}
	cred := cfg.Credential
	if cred == nil {
		if cred, err = credential(cfg, co); err != nil {
			return nil, err
		}
	}
	pl := runtime.NewPipeline("nhiscan-azure", "v1", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{graphAudience + "/.default"}, nil)},
	}, &co)
	return &clients{
		cfg:     cfg,
		cred:    cred,
		graph:   &graphClient{pl: pl, base: strings.TrimSuffix(graphURL, "/")},
		armOpts: &arm.ClientOptions{ClientOptions: co},
		log:     log,
	}, nil
}

// Provider returns nhi.Azure.
func (c *Collector) Provider() nhi.Provider { return nhi.Azure }

// cloudConfig resolves the endpoints of the configured cloud.
func cloudConfig(cfg Config) (cloud.Configuration, string, string, error) {
	var cl cloud.Configuration
	var graphURL, graphAudience string
	switch strings.ToLower(cfg.Cloud) {
	case "", "public", "azurepublic":
		cl, graphURL, graphAudience = cloud.AzurePublic, "https://graph.microsoft.com", "https://graph.microsoft.com"
	case "usgovernment", "azuregovernment":
		cl, graphURL, graphAudience = cloud.AzureGovernment, "https://graph.microsoft.us", "https://graph.microsoft.us"
	case "china", "azurechina":
		cl, graphURL, graphAudience = cloud.AzureChina, "https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"
	default:
		return cl, "", "", fmt.Errorf("azure: unknown cloud %q (want public, usgovernment or china)", cfg.Cloud)
	}
	// Copy the services map before changing it: the cloud values are shared.
	svc := map[cloud.ServiceName]cloud.ServiceConfiguration{}
	for k, v := range cl.Services {
		svc[k] = v
	}
	cl.Services = svc
	if cfg.GraphURL != "" {
		graphURL = cfg.GraphURL
		// A national Graph host is its own token audience (US Gov DoD's
		// dod-graph.microsoft.us); a proxy or a fake keeps the cloud's.
		if u, err := url.Parse(cfg.GraphURL); err == nil && nationalGraphHosts[strings.ToLower(u.Hostname())] {
			graphAudience = "https://" + strings.ToLower(u.Hostname())
		}
	}
	if cfg.ResourceManagerURL != "" {
		rm := svc[cloud.ResourceManager]
		rm.Endpoint = cfg.ResourceManagerURL
		svc[cloud.ResourceManager] = rm
	}
	if cfg.AuthorityHost != "" {
		cl.ActiveDirectoryAuthorityHost = cfg.AuthorityHost
	}
	return cl, graphURL, graphAudience, nil
}

// nationalCloud names the national cloud a configuration scans ("US
// Government", "China"), by its cloud or its Graph host, or "".
func nationalCloud(cfg Config) string {
	switch strings.ToLower(cfg.Cloud) {
	case "usgovernment", "azuregovernment":
		return "US Government"
	case "china", "azurechina":
		return "China"
	}
	if u, err := url.Parse(cfg.GraphURL); err == nil && cfg.GraphURL != "" {
		switch h := strings.ToLower(u.Hostname()); {
		case h == "graph.microsoft.us" || h == "dod-graph.microsoft.us":
			return "US Government"
		case h == "microsoftgraph.chinacloudapi.cn":
			return "China"
		}
	}
	return ""
}

// Microsoft Graph hosts of the public and national clouds.
var nationalGraphHosts = map[string]bool{
	"graph.microsoft.com": true, "graph.microsoft.us": true, "dod-graph.microsoft.us": true,
	"microsoftgraph.chinacloudapi.cn": true,
}

// credential builds the azidentity credential the configuration asks for.
func credential(cfg Config, co policy.ClientOptions) (azcore.TokenCredential, error) {
	a := cfg.Auth
	switch a.Method {
	case "", AuthDefault:
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co, TenantID: cfg.TenantID})
	case AuthEnvironment:
		return azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: co})
	case AuthWorkloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: co, ClientID: a.ClientID, TenantID: cfg.TenantID})
	case AuthManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if a.ClientID != "" {
			o.ID = azidentity.ClientID(a.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	case AuthAzureCLI:
		return azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: cfg.TenantID})
	case AuthClientSecret:
		if a.ClientID == "" || a.ClientSecretFile == "" {
			return nil, errors.New("azure: auth client-secret needs client_id and client_secret_file")
		}
		b, err := os.ReadFile(a.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("azure: client secret file: %w", err)
		}
		return azidentity.NewClientSecretCredential(cfg.TenantID, a.ClientID, strings.TrimSpace(string(b)),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co})
	case AuthClientCertificate:
		if a.ClientID == "" || a.CertificateFile == "" {
			return nil, errors.New("azure: auth client-certificate needs client_id and certificate_file")
		}
		data, err := os.ReadFile(a.CertificateFile)
		if err != nil {
			return nil, fmt.Errorf("azure: certificate file: %w", err)
		}
		var pw []byte
		if a.CertificatePasswordFile != "" {
			if pw, err = os.ReadFile(a.CertificatePasswordFile); err != nil {
				return nil, fmt.Errorf("azure: certificate password file: %w", err)
			}
			pw = []byte(strings.TrimSpace(string(pw)))
		}
		certs, key, err := azidentity.ParseCertificates(data, pw)
		if err != nil {
			return nil, fmt.Errorf("azure: certificate file %s: %w", a.CertificateFile, err)
		}
		return azidentity.NewClientCertificateCredential(cfg.TenantID, a.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co})
	}
	return nil, fmt.Errorf("azure: unknown auth method %q", a.Method)
}
