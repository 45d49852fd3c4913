package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/boundedio"
	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/strictyaml"
)

// Errors are every problem found in the configuration file and the
// NHISCAN_* environment, sorted by position. Load returns them as *Errors.
// A problem in an environment variable names the variable in place of a
// file and has no line. Errors is a type of its own, not *catalog.Errors, so
// a caller can tell a configuration problem from a catalog problem.
type Errors strictyaml.Errors

// Error prints one problem a line.
func (es *Errors) Error() string {
	e := strictyaml.Errors(*es)
	return e.Error()
}

// maxConcurrency is the largest concurrency a provider section accepts.
const maxConcurrency = 256

// Load reads the configuration file at path ("" means none: defaults and
// environment only) and applies NHISCAN_* overrides from getenv (nil reads
// no environment). Every problem in the file and the environment is
// returned at once as *Errors; an unreadable file is a plain wrapped error.
// Relative paths in the file (database, catalog, *_file) are resolved
// against the file's directory.
func Load(path string, getenv func(string) string) (Config, error) {
	return LoadWithFlags(path, getenv, nil)
}

// LoadWithFlags is Load with a command's flags applied over the file and
// the environment, each validated like the key it sets and named in errors.
func LoadWithFlags(path string, getenv func(string) string, flags []Flag) (Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = boundedio.ReadFile(path, MaxFileSize); err != nil {
			var big *boundedio.TooLargeError
			if errors.As(err, &big) {
				return Config{}, fmt.Errorf("read configuration %s: %s", path, big.For("a configuration file"))
			}
			return Config{}, fmt.Errorf("read configuration %s: %w", path, err)
		}
	}
	return parse(path, data, getenv, flags)
}

// Parse is Load over the bytes of a file already read; path names the
// file in messages and anchors its relative paths ("" means no file).
func Parse(path string, data []byte, getenv func(string) string) (Config, error) {
	return parse(path, data, getenv, nil)
}

func parse(path string, data []byte, getenv func(string) string, flags []Flag) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var fc fileConfig
	var errs strictyaml.List
	if path != "" {
		errs.Errs = decoder.Decode(path, data, &fc)
	}
	applyEnv(&fc, getenv, &errs)
	applyFlags(&fc, flags, &errs)
	v := validator{errs: &errs}
	if path != "" {
		v.dir = filepath.Dir(path)
	}
	cfg := v.config(&fc)
	cfg.Files = v.files
	if len(errs.Errs) > 0 {
		es := Errors(strictyaml.Sort(errs.Errs))
		return Config{}, &es
	}
	return cfg, nil
}

var decoder = strictyaml.Decoder{Root: "configuration file", UnknownKey: unknownKey}

// secretKeys are keys that would hold a secret inline, with the setting to
// use instead.
var secretKeys = map[string]string{
	"token":                   `"token_file" (or the GITHUB_TOKEN environment variable)`,
	"github_token":            `"token_file" (or the GITHUB_TOKEN environment variable)`,
	"private_key":             `"private_key_file"`,
	"app_private_key":         `"private_key_file"`,
	"client_secret":           `"client_secret_file"`,
	"client_certificate":      `"client_certificate_file"`,
	"certificate":             `"client_certificate_file"`,
	"external_id":             `"external_id_file"`,
	"credentials":             `"credentials_file" (or Application Default Credentials)`,
	"credentials_json":        `"credentials_file" (or Application Default Credentials)`,
	"service_account_key":     `"credentials_file" (or Application Default Credentials)`,
	"access_key_id":           "the AWS SDK's standard credential chain (environment, profile, instance or task role)",
	"secret_access_key":       "the AWS SDK's standard credential chain (environment, profile, instance or task role)",
	"aws_access_key_id":       "the AWS SDK's standard credential chain (environment, profile, instance or task role)",
	"aws_secret_access_key":   "the AWS SDK's standard credential chain (environment, profile, instance or task role)",
	"session_token":           "the AWS SDK's standard credential chain (environment, profile, instance or task role)",
	"aws_session_token":       "the AWS SDK's standard credential chain (environment, profile, instance or task role)",
	"password":                "a *_file setting",
	"secret":                  "a *_file setting",
	"api_key":                 "a *_file setting",
	"client_secret_value":     `"client_secret_file"`,
	"personal_access_token":   `"token_file" (or the GITHUB_TOKEN environment variable)`,
	"installation_token":      `"token_file" (or the GITHUB_TOKEN environment variable)`,
	"azure_client_secret":     `"client_secret_file"`,
	"google_credentials":      `"credentials_file" (or Application Default Credentials)`,
	"google_application_json": `"credentials_file" (or Application Default Credentials)`,
}

// unknownKey is the decoder's unknown-key hook. A key an earlier nhiscan
// read here says where its setting moved. A key that would hold a secret (a
// known name, or one ending in secret, token, password...) gets a message
// pointing to the *_file form. The value is never quoted.
func unknownKey(key, in string) string {
	if to, ok := movedKeys[key]; ok {
		return fmt.Sprintf("%q in %s has moved: %s", key, in, to)
	}
	k := strings.ToLower(key)
	use, ok := secretKeys[k]
	if !ok {
		for _, w := range []string{"secret", "token", "password", "passwd", "private_key", "access_key"} {
			if strings.HasSuffix(k, w) {
				use, ok = "a *_file setting", true
				break
			}
		}
	}
	if !ok {
		return ""
	}
	return fmt.Sprintf("inline secret %q in %s is not allowed: secrets never go in the configuration; use %s", key, in, use)
}

// ---- environment ----

// envVar is one NHISCAN_* override: the key at path (YAML keys from the
// file's root). Its name is derived from the path, so a variable is always
// named after the setting it overrides.
type envVar struct {
	name string
	path []string
}

// env names the variable of a key: NHISCAN_ and the path in capitals,
// without "providers" (providers.aws.role_name is NHISCAN_AWS_ROLE_NAME).
func env(path ...string) envVar {
	parts := path
	if parts[0] == "providers" {
		parts = parts[1:]
	}
	return envVar{name: "NHISCAN_" + strings.ToUpper(strings.Join(parts, "_")), path: path}
}

var envVars = []envVar{
	env("database"),
	env("database_file"),
	env("catalog"),
	env("log_format"),
	env("thresholds", "dormant_after"),
	env("thresholds", "max_credential_age"),
	env("thresholds", "never_used_grace"),
	env("thresholds", "expiring_soon"),
	env("thresholds", "usage_freshness"),

	env("providers", "aws", "accounts"),
	env("providers", "aws", "organization"),
	env("providers", "aws", "role_name"),
	env("providers", "aws", "external_id_file"),
	env("providers", "aws", "region"),
	env("providers", "aws", "profile"),
	env("providers", "aws", "endpoint"),
	env("providers", "aws", "call_timeout"),
	env("providers", "aws", "max_retries"),
	env("providers", "aws", "retry_base_delay"),
	env("providers", "aws", "max_retry_delay"),
	env("providers", "aws", "last_accessed"),
	env("providers", "aws", "last_accessed_max_jobs"),
	env("providers", "aws", "last_accessed_rate"),
	env("providers", "aws", "last_accessed_timeout"),

	env("providers", "azure", "tenant_id"),
	env("providers", "azure", "subscriptions"),
	env("providers", "azure", "cloud"),
	env("providers", "azure", "client_id"),
	env("providers", "azure", "client_secret_file"),
	env("providers", "azure", "client_certificate_file"),
	env("providers", "azure", "graph_endpoint"),
	env("providers", "azure", "arm_endpoint"),
	env("providers", "azure", "authority_host"),
	env("providers", "azure", "call_timeout"),
	env("providers", "azure", "max_retries"),
	env("providers", "azure", "retry_base_delay"),
	env("providers", "azure", "max_retry_delay"),
	env("providers", "azure", "sign_in_reports"),

	env("providers", "gcp", "organization"),
	env("providers", "gcp", "folders"),
	env("providers", "gcp", "projects"),
	env("providers", "gcp", "credentials_file"),
	env("providers", "gcp", "quota_project"),
	env("providers", "gcp", "endpoint"),
	env("providers", "gcp", "call_timeout"),
	env("providers", "gcp", "max_retries"),
	env("providers", "gcp", "retry_base_delay"),
	env("providers", "gcp", "max_retry_delay"),

	env("providers", "github", "organizations"),
	env("providers", "github", "app_id"),
	env("providers", "github", "installation_id"),
	env("providers", "github", "private_key_file"),
	env("providers", "github", "token_file"),
	env("providers", "github", "base_url"),
	env("providers", "github", "graphql_url"),
	env("providers", "github", "call_timeout"),
	env("providers", "github", "max_retries"),
	env("providers", "github", "retry_base_delay"),
	env("providers", "github", "max_retry_delay"),
}

func init() { envVars = append(envVars, campaignEnvVars...) }

// applyEnv sets every non-empty NHISCAN_* variable over the file's values.
// A value from the environment is positioned at the variable's name.
func applyEnv(fc *fileConfig, getenv func(string) string, errs *strictyaml.List) {
	for _, e := range envVars {
		if v := getenv(e.name); v != "" {
			e.apply(fc, str{V: v, P: pos{File: e.name}, Set: true}, errs)
		}
	}
}

// apply sets the variable's key, creating the mappings on its path that
// the file lacks. This one setter serves every section: a string, a list
// (comma-separated) or a boolean key.
func (e envVar) apply(fc *fileConfig, v str, errs *strictyaml.List) {
	mapping := reflect.ValueOf(fc).Elem()
	m := &fc.Meta
	initMeta(m, v.P)
	for _, key := range e.path[:len(e.path)-1] {
		f := fieldByKey(mapping, key)
		if f.IsNil() {
			f.Set(reflect.New(f.Type().Elem()))
		}
		mapping = f.Elem()
		m = mapping.FieldByName("Meta").Addr().Interface().(*strictyaml.Meta)
		initMeta(m, v.P)
	}
	key := e.path[len(e.path)-1]
	switch dst := fieldByKey(mapping, key).Addr().Interface().(type) {
	case *str:
		*dst = v
	case *[]str:
		*dst = splitList(v, errs)
	case **int:
		n, err := strconv.Atoi(v.V)
		if err != nil {
			errs.Add(v.P, "must be a whole number, got %q", v.V)
			m.Bad[key] = true
			return
		}
		*dst = &n
	case **bool:
		b, err := strconv.ParseBool(v.V)
		if err != nil {
			errs.Add(v.P, "must be true or false, got %q", v.V)
			m.Bad[key] = true
			return
		}
		*dst = &b
	default:
		panic(fmt.Sprintf("config: %s: no environment form for %T", e.name, dst))
	}
	m.Keys[key] = v.P
	delete(m.Bad, key)
}

// fieldByKey is the field of a file-format struct whose yaml tag is key.
func fieldByKey(mapping reflect.Value, key string) reflect.Value {
	t := mapping.Type()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("yaml") == key {
			return mapping.Field(i)
		}
	}
	panic(fmt.Sprintf("config: %s has no key %q", t, key))
}

// initMeta makes m's maps usable for a mapping the environment created.
func initMeta(m *strictyaml.Meta, at pos) {
	if m.Keys == nil {
		*m = strictyaml.Meta{P: at, Keys: map[string]pos{}, Bad: map[string]bool{}}
	}
	if m.Bad == nil {
		m.Bad = map[string]bool{}
	}
}

// splitList reads a comma-separated list.
func splitList(v str, errs *strictyaml.List) []str {
	var out []str
	for _, part := range strings.Split(v.V, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			errs.Add(v.P, "empty entry in comma-separated list %q", v.V)
			continue
		}
		out = append(out, str{V: part, P: v.P, Set: true})
	}
	return out
}

// ---- validation ----

type validator struct {
	errs *strictyaml.List
	dir  string // the configuration file's directory; "" without a file
	// files collects the *_file settings validated.
	files []FileSetting
}

func (v *validator) config(fc *fileConfig) Config {
	cfg := defaults()
	cfg.Database = v.database(fc)
	for _, c := range fc.Catalog {
		if strings.TrimSpace(c.V) == "" {
			v.errs.Add(c.P, "catalog path must not be empty")
			continue
		}
		cfg.Catalog = append(cfg.Catalog, v.path(c))
	}
	if fc.LogFormat.Set {
		switch fc.LogFormat.V {
		case "text", "json":
			cfg.LogFormat = fc.LogFormat.V
		default:
			v.errs.Add(fc.LogFormat.P, "unknown log_format %q (use text or json)", fc.LogFormat.V)
		}
	}
	if t := fc.Thresholds; t != nil {
		cfg.Thresholds = Thresholds{
			DormantAfter:     v.duration(t.DormantAfter, "dormant_after"),
			MaxCredentialAge: v.duration(t.MaxCredentialAge, "max_credential_age"),
			NeverUsedGrace:   v.duration(t.NeverUsedGrace, "never_used_grace"),
			ExpiringSoon:     v.duration(t.ExpiringSoon, "expiring_soon"),
			UsageFreshness:   v.duration(t.UsageFreshness, "usage_freshness"),
		}
	}
	v.campaignSections(fc, &cfg)
	v.revokeSection(fc, &cfg)
	v.serveSection(fc, &cfg)
	v.fleetSection(fc, &cfg)
	v.serviceSections(fc, &cfg)
	v.fleetAndSchedules(fc, &cfg)
	if p := fc.Providers; p != nil {
		if p.AWS != nil {
			cfg.Providers.AWS = v.aws(p.AWS)
		}
		if p.Azure != nil {
			cfg.Providers.Azure = v.azure(p.Azure)
		}
		if p.GCP != nil {
			cfg.Providers.GCP = v.gcp(p.GCP)
		}
		if p.GitHub != nil {
			cfg.Providers.GitHub = v.github(p.GitHub)
		}
	}
	return cfg
}

// fromFile reports whether a value came from the file (it has a line)
// rather than from the environment.
func fromFile(s str) bool { return s.P.Line > 0 }

// path resolves a path from the file against the file's directory; paths
// from the environment stay relative to the working directory.
func (v *validator) path(s str) string {
	if !fromFile(s) || v.dir == "" || filepath.IsAbs(s.V) {
		return s.V
	}
	return filepath.Join(v.dir, s.V)
}

// secretPrefixes start well-known secret formats; a *_file value starting
// with one is a secret pasted in place of a path.
var secretPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "AKIA", "ASIA", "-----BEGIN", "eyJ"}

// file validates a *_file setting of a provider section and resolves it.
// The value is never quoted in a message: it may be a secret pasted by
// mistake.
func (v *validator) file(s str, provider, key string) string {
	if !s.Set {
		return ""
	}
	if strings.TrimSpace(s.V) == "" {
		v.errs.Add(s.P, "%s must not be empty", key)
		return ""
	}
	if looksSecret(s.V) {
		v.errs.Add(s.P, "%s looks like a secret, not a file path: put the secret in a file and name that file here", key)
		return ""
	}
	p := v.path(s)
	fs := FileSetting{Provider: provider, Key: "providers." + provider + "." + key, At: s.P, Path: p}
	if _, ok := nonProviderSections[provider]; ok {
		fs.Provider, fs.Key = "", provider+"."+key
	}
	v.files = append(v.files, fs)
	return p
}

// nonProviderSections are the sections besides providers.<p> whose *_file
// settings file() records (under "<section>.<key>", with no provider).
var nonProviderSections = map[string]struct{}{"campaigns": {}, "smtp": {}, "serve": {}, "revoke": {}}

func looksSecret(s string) bool {
	if strings.ContainsAny(s, "\n\r") {
		return true
	}
	for _, p := range secretPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func (v *validator) duration(s str, key string) time.Duration {
	if !s.Set {
		return 0
	}
	d, err := duration.Parse(s.V)
	if err != nil {
		v.errs.Add(s.P, "%s: %v", key, err)
		return 0
	}
	if d <= 0 {
		v.errs.Add(s.P, "%s %q must be positive", key, s.V)
		return 0
	}
	return d
}

// maxRetries bounds max_retries: more retries only hold a throttled scan
// longer.
const maxRetries = 20

// retries validates the retry settings every provider shares.
// max_retries: 0 in the file means never retry (-1 to the collector, whose
// 0 is its default).
func (v *validator) retries(n *int, base, maxDelay str, m strictyaml.Meta) Retries {
	r := Retries{RetryBaseDelay: v.duration(base, "retry_base_delay"), MaxRetryDelay: v.duration(maxDelay, "max_retry_delay")}
	if n != nil {
		switch {
		case *n < 0 || *n > maxRetries:
			v.errs.Add(m.At("max_retries"), "max_retries %d is out of range (use 0 to %d; 0 means no retries)", *n, maxRetries)
		case *n == 0:
			r.MaxRetries = -1
		default:
			r.MaxRetries = *n
		}
	}
	if r.RetryBaseDelay > 0 && r.MaxRetryDelay > 0 && r.RetryBaseDelay > r.MaxRetryDelay {
		v.errs.Add(maxDelay.P, "max_retry_delay %s is shorter than retry_base_delay %s", maxDelay.V, base.V)
	}
	return r
}

func (v *validator) concurrency(n *int, m strictyaml.Meta) int {
	if n == nil {
		return 0
	}
	if *n < 0 || *n > maxConcurrency {
		v.errs.Add(m.At("concurrency"), "concurrency %d is out of range (use 0 to %d; 0 means the collector's default)", *n, maxConcurrency)
		return 0
	}
	return *n
}

// endpoint validates a URL setting: absolute, http or https, with a host
// and without credentials.
func (v *validator) endpoint(s str, key string) string {
	if !s.Set {
		return ""
	}
	u, err := url.Parse(s.V)
	switch {
	case err != nil:
		v.errs.Add(s.P, "%s is not a URL", key)
		return ""
	case u.User != nil:
		v.errs.Add(s.P, "%s must not contain credentials", key)
		return ""
	case u.Scheme != "https" && u.Scheme != "http":
		v.errs.Add(s.P, "%s %q must be an absolute http or https URL (for example https://api.example.com/)", key, s.V)
		return ""
	case u.Host == "":
		v.errs.Add(s.P, "%s %q has no host", key, s.V)
		return ""
	}
	return s.V
}

// list validates a list of ids with check, rejecting duplicates (compared
// by fold when fold is set).
func (v *validator) list(items []str, what string, fold bool, check func(str) bool) []string {
	var out []string
	seen := map[string]pos{}
	for _, it := range items {
		val := strings.TrimSpace(it.V)
		if val == "" {
			v.errs.Add(it.P, "%s must not be empty", what)
			continue
		}
		if check != nil && !check(str{V: val, P: it.P, Set: true}) {
			continue
		}
		k := val
		if fold {
			k = strings.ToLower(k)
		}
		if first, dup := seen[k]; dup {
			v.errs.Add(it.P, "duplicate %s %q (first at %s)", what, val, first)
			continue
		}
		seen[k] = it.P
		out = append(out, val)
	}
	return out
}

func (v *validator) match(re *regexp.Regexp, what, hint string) func(str) bool {
	return func(s str) bool {
		if !re.MatchString(s.V) {
			v.errs.Add(s.P, "%s %q %s", what, s.V, hint)
			return false
		}
		return true
	}
}

var (
	reAWSAccount = regexp.MustCompile(`^[0-9]{12}$`)
	reAWSRole    = regexp.MustCompile(`^[A-Za-z0-9+=,.@_/-]{1,64}$`)
	reAWSRegion  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	reGUID       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	reDomain     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
	reGCPOrg     = regexp.MustCompile(`^(organizations/)?[0-9]+$`)
	reGCPFolder  = regexp.MustCompile(`^(folders/)?[0-9]+$`)
	reGCPProject = regexp.MustCompile(`^[^\s/]+$`)
	reGitHubOrg  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$`)
)

func (v *validator) aws(a *fileAWS) *AWS {
	out := &AWS{
		Accounts:              v.list(a.Accounts, "account id", false, v.match(reAWSAccount, "account id", "must be 12 digits")),
		Organization:          a.Organization != nil && *a.Organization,
		ExternalIDFile:        v.file(a.ExternalIDFile, "aws", "external_id_file"),
		TrustedAccounts:       v.list(a.TrustedAccounts, "trusted account id", false, v.match(reAWSAccount, "trusted account id", "must be 12 digits")),
		Profile:               strings.TrimSpace(a.Profile.V),
		SharedCredentialsFile: v.file(a.SharedCredentialsFile, "aws", "shared_credentials_file"),
		Endpoint:              v.endpoint(a.Endpoint, "endpoint"),
		Concurrency:           v.concurrency(a.Concurrency, a.Meta),
		CallTimeout:           v.duration(a.CallTimeout, "call_timeout"),
		Retries:               v.retries(a.MaxRetries, a.RetryBaseDelay, a.MaxRetryDelay, a.Meta),
		LastAccessedMaxJobs:   int(v.positiveInt(a.LastAccessedMaxJobs, "last_accessed_max_jobs")),
		LastAccessedTimeout:   v.duration(a.LastAccessedTimeout, "last_accessed_timeout"),
	}
	v.lastAccessed(a, out)
	if a.RoleName.Set {
		if reAWSRole.MatchString(a.RoleName.V) {
			out.RoleName = a.RoleName.V
		} else {
			v.errs.Add(a.RoleName.P, "role_name %q is not an IAM role name (letters, digits and +=,.@_-/, at most 64)", a.RoleName.V)
		}
	}
	if a.Region.Set {
		if reAWSRegion.MatchString(a.Region.V) {
			out.Region = a.Region.V
		} else {
			v.errs.Add(a.Region.P, "region %q is not an AWS region (for example us-east-1)", a.Region.V)
		}
	}
	if a.Partition.Set {
		switch a.Partition.V {
		case "aws", "aws-us-gov", "aws-cn":
			out.Partition = a.Partition.V
		default:
			v.errs.Add(a.Partition.P, "unknown partition %q (use aws, aws-us-gov or aws-cn)", a.Partition.V)
		}
	}
	if !a.Has("role_name") && !a.Bad["role_name"] && (out.Organization || len(a.Accounts) > 1) {
		v.errs.Add(a.P, "aws provider has no role_name: it is required with organization: true or more than one account (the role nhiscan assumes in each account, for example nhiscan-readonly)")
	}
	if out.ExternalIDFile != "" && !a.Has("role_name") {
		v.errs.Add(a.At("external_id_file"), "external_id_file needs role_name (the external id is passed when assuming it)")
	}
	return out
}

// lastAccessed validates the service last accessed budget of the AWS
// section.
func (v *validator) lastAccessed(a *fileAWS, out *AWS) {
	if a.LastAccessed.Set {
		switch a.LastAccessed.V {
		case "outside-baseline", "privileged", "all", "off":
			out.LastAccessed = a.LastAccessed.V
		default:
			v.errs.Add(a.LastAccessed.P, "last_accessed %q: use outside-baseline, privileged, all or off", a.LastAccessed.V)
		}
	}
	if a.LastAccessedRate.Set {
		r, err := strconv.ParseFloat(a.LastAccessedRate.V, 64)
		if err != nil || r <= 0 || r > 100 {
			v.errs.Add(a.LastAccessedRate.P, "last_accessed_rate must be a number of calls per second above 0 and at most 100, got %q", a.LastAccessedRate.V)
		} else {
			out.LastAccessedRate = r
		}
	}
}

func (v *validator) azure(a *fileAzure) *Azure {
	out := &Azure{
		Subscriptions:         v.list(a.Subscriptions, "subscription id", true, v.match(reGUID, "subscription id", "is not a GUID")),
		ClientSecretFile:      v.file(a.ClientSecretFile, "azure", "client_secret_file"),
		ClientCertificateFile: v.file(a.ClientCertificateFile, "azure", "client_certificate_file"),
		GraphEndpoint:         v.endpoint(a.GraphEndpoint, "graph_endpoint"),
		ARMEndpoint:           v.endpoint(a.ARMEndpoint, "arm_endpoint"),
		AuthorityHost:         v.endpoint(a.AuthorityHost, "authority_host"),
		Concurrency:           v.concurrency(a.Concurrency, a.Meta),
		CallTimeout:           v.duration(a.CallTimeout, "call_timeout"),
		Retries:               v.retries(a.MaxRetries, a.RetryBaseDelay, a.MaxRetryDelay, a.Meta),
		SignInReports:         a.SignInReports,
	}
	switch t := strings.TrimSpace(a.TenantID.V); {
	case !a.TenantID.Set || t == "":
		if !a.Bad["tenant_id"] {
			v.errs.Add(a.At("tenant_id"), "azure provider has no tenant_id (the Entra tenant id or its primary domain)")
		}
	case reGUID.MatchString(t) || reDomain.MatchString(t):
		out.TenantID = t
	default:
		v.errs.Add(a.TenantID.P, "tenant_id %q is neither a GUID nor a domain", a.TenantID.V)
	}
	if a.Cloud.Set {
		switch a.Cloud.V {
		case "public", "usgovernment", "china":
			out.Cloud = a.Cloud.V
		default:
			v.errs.Add(a.Cloud.P, "unknown cloud %q (use public, usgovernment or china)", a.Cloud.V)
		}
	}
	if a.ClientID.Set {
		if reGUID.MatchString(a.ClientID.V) {
			out.ClientID = a.ClientID.V
		} else {
			v.errs.Add(a.ClientID.P, "client_id %q is not a GUID (the application's client id)", a.ClientID.V)
		}
	}
	if a.ClientSecretFile.Set && a.ClientCertificateFile.Set {
		v.errs.Add(a.At("client_certificate_file"), "set client_secret_file or client_certificate_file, not both")
	}
	if (a.ClientSecretFile.Set || a.ClientCertificateFile.Set) && !a.Has("client_id") && !a.Bad["client_id"] {
		v.errs.Add(a.P, "azure provider has a client secret or certificate file but no client_id")
	}
	return out
}

func (v *validator) gcp(g *fileGCP) *GCP {
	out := &GCP{
		Folders:            v.list(g.Folders, "folder id", false, v.match(reGCPFolder, "folder id", "must be numeric (123 or folders/123)")),
		Projects:           v.list(g.Projects, "project id", false, v.match(reGCPProject, "project id", "must not contain spaces or slashes")),
		CredentialsFile:    v.file(g.CredentialsFile, "gcp", "credentials_file"),
		Endpoint:           v.endpoint(g.Endpoint, "endpoint"),
		Concurrency:        v.concurrency(g.Concurrency, g.Meta),
		DelegatedClientIDs: v.list(g.DelegatedClientIDs, "client id", false, v.match(reNumericID, "client id", "must be numeric (the OAuth client id of the delegation)")),
		CallTimeout:        v.duration(g.CallTimeout, "call_timeout"),
		Retries:            v.retries(g.MaxRetries, g.RetryBaseDelay, g.MaxRetryDelay, g.Meta),
	}
	if g.OwnerLabelDomain.Set {
		if reDomain.MatchString(g.OwnerLabelDomain.V) {
			out.OwnerLabelDomain = g.OwnerLabelDomain.V
		} else {
			v.errs.Add(g.OwnerLabelDomain.P, "owner_label_domain %q is not a domain name (acme.example)", g.OwnerLabelDomain.V)
		}
	}
	if g.Organization.Set {
		if reGCPOrg.MatchString(g.Organization.V) {
			out.Organization = g.Organization.V
		} else {
			v.errs.Add(g.Organization.P, "organization %q must be numeric (123456789012 or organizations/123456789012)", g.Organization.V)
		}
	}
	if g.QuotaProject.Set {
		if reGCPProject.MatchString(g.QuotaProject.V) {
			out.QuotaProject = g.QuotaProject.V
		} else {
			v.errs.Add(g.QuotaProject.P, "quota_project %q must not contain spaces or slashes", g.QuotaProject.V)
		}
	}
	if !g.Organization.Set && len(g.Folders) == 0 && len(g.Projects) == 0 &&
		!g.Bad["organization"] && !g.Bad["folders"] && !g.Bad["projects"] {
		v.errs.Add(g.P, "gcp provider has no organization, folders or projects; set at least one")
	}
	return out
}

func (v *validator) github(g *fileGitHub) *GitHub {
	out := &GitHub{
		Organizations:          v.list(g.Organizations, "organization", true, v.match(reGitHubOrg, "organization", "is not a GitHub organization login")),
		PrivateKeyFile:         v.file(g.PrivateKeyFile, "github", "private_key_file"),
		TokenFile:              v.file(g.TokenFile, "github", "token_file"),
		SkipSAMLAuthorizations: g.SkipSAMLAuthorizations != nil && *g.SkipSAMLAuthorizations,
		BaseURL:                v.endpoint(g.BaseURL, "base_url"),
		GraphQLURL:             v.endpoint(g.GraphQLURL, "graphql_url"),
		Concurrency:            v.concurrency(g.Concurrency, g.Meta),
		CallTimeout:            v.duration(g.CallTimeout, "call_timeout"),
		Retries:                v.retries(g.MaxRetries, g.RetryBaseDelay, g.MaxRetryDelay, g.Meta),
	}
	if len(g.Organizations) == 0 && !g.Bad["organizations"] {
		v.errs.Add(g.At("organizations"), "github provider has no organizations; list at least one")
	}
	out.AppID = v.positiveInt(g.AppID, "app_id")
	out.InstallationID = v.positiveInt(g.InstallationID, "installation_id")
	switch {
	case g.AppID.Set && !g.PrivateKeyFile.Set && !g.Bad["private_key_file"]:
		v.errs.Add(g.AppID.P, "app_id needs private_key_file (the GitHub App's private key)")
	case g.PrivateKeyFile.Set && !g.AppID.Set && !g.Bad["app_id"]:
		v.errs.Add(g.PrivateKeyFile.P, "private_key_file needs app_id")
	}
	if g.InstallationID.Set && !g.AppID.Set && !g.Bad["app_id"] {
		v.errs.Add(g.InstallationID.P, "installation_id needs app_id and private_key_file")
	}
	if g.InstallationID.Set && len(g.Organizations) > 1 {
		v.errs.Add(g.InstallationID.P, "installation_id belongs to one organization; with several organizations leave it out and nhiscan looks each installation up")
	}
	for _, p := range g.CloudSecretPatterns {
		if _, err := regexp.Compile(p.V); err != nil {
			v.errs.Add(p.P, "bad cloud secret pattern %q: %v", p.V, err)
			continue
		}
		out.CloudSecretPatterns = append(out.CloudSecretPatterns, p.V)
	}
	return out
}

func (v *validator) positiveInt(s str, key string) int64 {
	if !s.Set {
		return 0
	}
	n, err := strconv.ParseInt(s.V, 10, 64)
	if err != nil || n <= 0 {
		v.errs.Add(s.P, "%s must be a positive integer, got %q", key, s.V)
		return 0
	}
	return n
}

var reNumericID = regexp.MustCompile(`^[0-9]{1,30}$`)
