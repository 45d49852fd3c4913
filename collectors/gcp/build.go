package gcp

import (
	"sort"
	"strings"
	"time"

	iam "google.golang.org/api/iam/v1"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// Key states and reasons of the IAM API that mean Google found the key
// exposed or compromised.
var exposedStatus = map[string]bool{
	"SERVICE_ACCOUNT_KEY_DISABLE_REASON_EXPOSED":                  true,
	"SERVICE_ACCOUNT_KEY_DISABLE_REASON_COMPROMISE_DETECTED":      true,
	"SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_EXPOSED":             true,
	"SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_COMPROMISE_DETECTED": true,
}

// build turns the scan into a normalised inventory.
func (c *Collector) build(s *scan) nhi.Inventory {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: s.now}

	// Attach keys seen in assets or listed per account.
	for ref, ks := range s.keys {
		uid := ref
		if id, ok := s.byEmail[ref]; ok {
			uid = id
		}
		a, ok := s.accounts[uid]
		if !ok {
			continue
		}
		for _, k := range ks {
			a.keys[keyID(k.Name)] = k
		}
	}
	// Bindings to grants; unknown service agents become identities.
	for _, b := range s.bindings {
		email := strings.ToLower(strings.TrimPrefix(b.member, "serviceAccount:"))
		uid, ok := s.byEmail[email]
		if !ok {
			agent := serviceAgent(email)
			// A service account outside the collected scopes holds access
			// here: an identity of its own, so its grants are not lost.
			uid = "external:" + email
			scope := ""
			if agent {
				uid = "agent:" + email
				scope = s.agentScope(email, b.resource)
			} else {
				scope, _ = s.grantScope(b.resource)
				scope = strings.TrimPrefix(scope, "projects/")
			}
			if _, ok := s.accounts[uid]; !ok {
				s.accounts[uid] = &account{sa: &iam.ServiceAccount{Email: email}, agent: agent, external: !agent, project: scope,
					keys: map[string]*iam.ServiceAccountKey{}, grants: map[string]nhi.Grant{}}
				if _, ok := s.scopes[scope]; !ok {
					s.scopes[scope] = ""
				}
			}
		}
		g := s.grant(b)
		s.accounts[uid].grants[g.ID] = g
	}

	for _, a := range s.accounts {
		inv.Identities = append(inv.Identities, c.identity(s, a))
	}
	for id, name := range s.scopes {
		if p, ok := s.projects[id]; ok && name == "" {
			name = p.name
		}
		inv.Scopes = append(inv.Scopes, nhi.Scope{Provider: nhi.GCP, ID: id, Name: name})
	}
	inv.Gaps = append(inv.Gaps, s.gaps...)
	inv.Normalize()
	return inv
}

// serviceAgent reports whether an email belongs to a Google-managed
// service agent rather than to a customer-created service account:
// service-NUM@gcp-sa-*.iam.gserviceaccount.com and the other
// service-NUM@….gserviceaccount.com agents (NUM a project number, or
// org-NUM / folder-NUM), NUM@cloudservices.gserviceaccount.com and the
// legacy NUM@cloudbuild.gserviceaccount.com, and any account of a gcp-sa-*
// domain. A customer account whose name merely starts with "service-" is
// not one: marking it provider-managed would exempt it from role rules.
func serviceAgent(email string) bool {
	at := strings.LastIndex(email, "@")
	if at < 0 {
		return false
	}
	local, domain := email[:at], email[at+1:]
	switch {
	case strings.HasPrefix(domain, "gcp-sa-") && strings.HasSuffix(domain, ".iam.gserviceaccount.com"):
		return true
	case domain == "cloudservices.gserviceaccount.com", domain == "cloudbuild.gserviceaccount.com":
		return numeric.MatchString(local)
	case strings.HasSuffix(domain, ".gserviceaccount.com"):
		n, ok := strings.CutPrefix(local, "service-")
		if !ok {
			return false
		}
		n = strings.TrimPrefix(strings.TrimPrefix(n, "org-"), "folder-")
		return numeric.MatchString(n)
	}
	return false
}

// agentScope places a service agent in the project its email names, else
// the project or parent its binding sits on.
func (s *scan) agentScope(email, resource string) string {
	local := email[:strings.Index(email, "@")]
	num := strings.TrimPrefix(local, "service-")
	if id, ok := s.byNumber[num]; ok {
		return id
	}
	scope, _ := s.grantScope(resource)
	return strings.TrimPrefix(scope, "projects/")
}

// grantScope normalises a full resource name: "organizations/N",
// "folders/N", "projects/<id>" or the resource name without "//".
func (s *scan) grantScope(resource string) (string, string) {
	r := strings.TrimPrefix(resource, "//")
	if rest, ok := strings.CutPrefix(r, "cloudresourcemanager.googleapis.com/"); ok {
		switch {
		case strings.HasPrefix(rest, "organizations/"):
			return rest, "organization"
		case strings.HasPrefix(rest, "folders/"):
			return rest, "folder"
		case strings.HasPrefix(rest, "projects/"):
			n := strings.TrimPrefix(rest, "projects/")
			if id, ok := s.byNumber[n]; ok {
				n = id
			}
			return "projects/" + n, "project"
		}
	}
	return r, "resource"
}

func (s *scan) grant(b binding) nhi.Grant {
	scope, _ := s.grantScope(b.resource)
	// The verdict comes from the normalised scope, as privilege.Classify
	// would judge the same grant from an imported inventory.
	priv, privileged, reason := privilege.GCPRole(b.role, privilege.GCPScopeLevel(scope))
	g := nhi.Grant{ID: b.role + "@" + scope, Kind: "role-binding", Entitlement: b.role, Scope: scope,
		Privilege: priv, Privileged: nhi.VerdictOf(privileged), Reason: reason}
	if b.condition != "" {
		g.ID += "?condition=" + b.condition
		g.Via = "condition: " + b.condition
	}
	return g
}

// identity maps one account.
func (c *Collector) identity(s *scan, a *account) nhi.Identity {
	if a.agent {
		id := nhi.Identity{
			ID: nhi.MakeID(nhi.GCP, "service-agent", a.sa.Email), Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount,
			NativeID: a.sa.Email, Name: a.sa.Email, Scope: a.project, Status: nhi.StatusActive, ProviderManaged: true,
			Usage:      nhi.Usage{State: nhi.UsageNotReported, Reason: "Google-managed service agent: Activity Analyzer does not report it"},
			Attributes: map[string]string{"service_agent": "true"},
		}
		for _, g := range a.grants {
			id.Grants = append(id.Grants, g)
		}
		return id
	}
	if a.external {
		id := nhi.Identity{
			ID: nhi.MakeID(nhi.GCP, "external", a.sa.Email), Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount,
			NativeID: a.sa.Email, Name: a.sa.Email, Scope: a.project, Status: nhi.StatusActive,
			// Scanning an organisation, an account outside it belongs to
			// someone else (a vendor, a partner): a third party.
			ThirdParty: c.cfg.Organization != "",
			Usage: nhi.Usage{State: nhi.UsageUnknown, Source: "activity-analyzer",
				Reason: "service account outside the collected scopes: its authentication is reported in its own project"},
			Attributes: map[string]string{"email": a.sa.Email, "outside_collected_scopes": "true"},
		}
		for _, g := range a.grants {
			id.Grants = append(id.Grants, g)
		}
		return id
	}
	sa := a.sa
	p := s.projects[a.project]
	if p == nil {
		p = &project{id: a.project}
	}
	id := nhi.Identity{
		ID: nhi.MakeID(nhi.GCP, sa.UniqueId), Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount,
		NativeID: sa.UniqueId, Name: sa.Email, ARN: "projects/" + sa.ProjectId + "/serviceAccounts/" + sa.Email,
		Scope: a.project, Path: p.parent, Status: nhi.StatusActive,
		Attributes: map[string]string{"email": sa.Email},
	}
	if sa.Disabled {
		id.Status = nhi.StatusDisabled
	}
	if p.number != "" {
		id.Attributes["project_number"] = p.number
	}
	for k, v := range map[string]string{"display_name": sa.DisplayName, "description": sa.Description, "oauth2_client_id": sa.Oauth2ClientId} {
		if v != "" {
			id.Attributes[k] = v
		}
	}
	if strings.HasSuffix(sa.Email, "-compute@developer.gserviceaccount.com") || strings.HasSuffix(sa.Email, "@appspot.gserviceaccount.com") {
		id.Attributes["default_service_account"] = "true"
	}
	if len(p.labels) > 0 {
		id.Tags = map[string]string{}
		for k, v := range p.labels {
			id.Tags[k] = v
		}
	}
	id.OwnerHints = c.ownerHints(sa, p)

	// Usage of the account.
	asOf := p.obsEnd
	since := "the start of the observation period"
	if !p.obsStart.IsZero() {
		since = p.obsStart.Format(time.DateOnly)
	}
	var blind []string
	if p.hasAPIKeyFor[strings.ToLower(sa.Email)] {
		blind = append(blind, "API keys are bound to it and requests they authenticate are not recorded")
	}
	delegated := c.delegate[strings.ToLower(sa.Oauth2ClientId)] || c.delegate[strings.ToLower(sa.Email)] || c.delegate[sa.UniqueId]
	if delegated {
		blind = append(blind, "it has domain-wide delegation and Workspace API use through it is not recorded")
		id.Attributes["domain_wide_delegation"] = "true"
	}
	if p.apiKeysErr != "" {
		blind = append(blind, p.apiKeysErr)
	}
	last, seen := p.accountLast(sa)
	switch {
	case p.usageErr != "":
		id.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, Reason: p.usageErr}
	case len(blind) > 0:
		id.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, AsOf: asOf,
			Reason: "Activity Analyzer blind spot: " + strings.Join(blind, "; ")}
		if seen {
			id.Attributes["activity_analyzer_last_authenticated"] = last.Format(time.RFC3339)
		}
	case seen:
		id.Usage = nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: usageSource, AsOf: asOf}
	default:
		id.Usage = nhi.Usage{State: nhi.UsageNeverUsed, Source: usageSource, AsOf: asOf,
			Reason: "no authentication recorded since " + since}
	}

	// Keys.
	for kid, k := range a.keys {
		id.Credentials = append(id.Credentials, c.keyCredential(s, p, kid, k, delegated, asOf, since))
	}
	for _, k := range p.apiKeys {
		if !strings.EqualFold(k.ServiceAccountEmail, sa.Email) || k.DeleteTime != "" {
			continue
		}
		cred := nhi.Credential{ID: k.Uid, Type: nhi.CredGCPAPIKey, Name: k.DisplayName, Created: parseTime(k.CreateTime),
			Status: nhi.StatusActive, Attributes: map[string]string{"resource_name": k.Name, "bound_service_account": k.ServiceAccountEmail},
			Usage: nhi.Usage{State: nhi.UsageNotReported, Reason: "Activity Analyzer does not record requests authenticated by API keys"}}
		if cred.ID == "" {
			cred.ID = keyID(k.Name)
		}
		id.Credentials = append(id.Credentials, cred)
	}
	for _, g := range a.grants {
		id.Grants = append(id.Grants, g)
	}
	return id
}

func (c *Collector) keyCredential(s *scan, p *project, kid string, k *iam.ServiceAccountKey, delegated bool, asOf time.Time, since string) nhi.Credential {
	system := k.KeyType == "SYSTEM_MANAGED"
	cred := nhi.Credential{ID: kid, Type: nhi.CredGCPUserManagedKey, Created: parseTime(k.ValidAfterTime), Status: nhi.StatusActive,
		ProviderRotated: system, Attributes: map[string]string{}}
	if system {
		cred.Type = nhi.CredGCPSystemManagedKey
	}
	if exp := parseTime(k.ValidBeforeTime); !exp.IsZero() && exp.Year() < 9999 {
		cred.Expires = exp
	}
	switch {
	case k.Disabled:
		cred.Status = nhi.StatusDisabled
	case !cred.Expires.IsZero() && !cred.Expires.After(s.now):
		cred.Status = nhi.StatusExpired
	}
	for name, v := range map[string]string{"key_origin": k.KeyOrigin, "key_algorithm": k.KeyAlgorithm, "disable_reason": k.DisableReason, "key_type": k.KeyType} {
		if v != "" {
			cred.Attributes[name] = v
		}
	}
	var exposed []string
	if exposedStatus[k.DisableReason] {
		exposed = append(exposed, "disableReason "+k.DisableReason)
	}
	var status []string
	for _, e := range k.ExtendedStatus {
		if e == nil {
			continue
		}
		status = append(status, e.Key)
		if exposedStatus[e.Key] {
			exposed = append(exposed, "extendedStatus "+e.Key)
			if e.Value != "" {
				cred.Attributes["exposure_detail"] = e.Value
			}
		}
	}
	if len(status) > 0 {
		sort.Strings(status)
		cred.Attributes["extended_status"] = strings.Join(status, ",")
	}
	if len(exposed) > 0 {
		cred.Signals = append(cred.Signals, nhi.Signal{Code: nhi.SignalExposed, Detail: "Google reports the key exposed: " + strings.Join(exposed, ", ")})
	}
	last, seen := p.keyLast[kid]
	switch {
	case p.usageErr != "":
		cred.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, Reason: p.usageErr}
	case delegated && !system:
		cred.Usage = nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, AsOf: asOf,
			Reason: "Activity Analyzer blind spot: the account has domain-wide delegation and Workspace API use is not recorded"}
	case seen:
		cred.Usage = nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: usageSource, AsOf: asOf}
	case system:
		cred.Usage = nhi.Usage{State: nhi.UsageNotReported, Reason: "Google-managed key: Google uses and rotates it"}
	default:
		cred.Usage = nhi.Usage{State: nhi.UsageNeverUsed, Source: usageSource, AsOf: asOf, Reason: "no authentication recorded since " + since}
	}
	return cred
}

// ownerHints reads owners from project labels and the description.
func (c *Collector) ownerHints(sa *iam.ServiceAccount, p *project) []nhi.OwnerHint {
	var out []nhi.OwnerHint
	for _, k := range c.cfg.OwnerTagKeys {
		v := p.labels[k]
		if v == "" {
			continue
		}
		if c.cfg.OwnerLabelDomain != "" && !strings.Contains(v, "@") {
			v = strings.ReplaceAll(v, "_", ".") + "@" + c.cfg.OwnerLabelDomain
		}
		out = append(out, nhi.OwnerHint{Source: "label", Value: strings.ToLower(v)})
	}
	if m := c.ownerRe.FindStringSubmatch(sa.Description); len(m) > 1 && m[1] != "" {
		out = append(out, nhi.OwnerHint{Source: "description", Value: strings.ToLower(strings.TrimRight(m[1], "."))})
	}
	return out
}
