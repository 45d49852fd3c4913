package gcp

import (
	"fmt"
	"slices"
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
	s.attachKeys()
	s.bindGrants()
	for _, a := range s.accounts {
		inv.Identities = append(inv.Identities, c.identity(s, a))
	}
	inv.Identities = append(inv.Identities, s.federatedIdentities()...)
	s.undescribed()
	s.spreadSearchGap()
	s.spreadGaps()
	inv.Scopes = c.scopes(s)
	inv.Gaps = s.gaps.List()
	inv.Normalize()
	return inv
}

// attachKeys gives each account the keys seen in assets or listed for it.
func (s *scan) attachKeys() {
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
}

// bindGrants turns bindings into grants of the accounts they name. A
// member no listing returned is a service agent or an account from outside
// the scan, an identity of its own (see outsider). A binding the scan
// cannot key as a clean scan would (its project named by a number the scan
// could not resolve) is left out, with a gap on the facet it belongs to.
func (s *scan) bindGrants() {
	certain := s.certain()
	for _, b := range s.bindings {
		scope, resolved := s.grantScope(b.resource)
		resolved = resolved || certain
		if m, ok := parseFederated(b.member); ok {
			s.bindFederated(m, b, scope, resolved)
			continue
		}
		email := strings.ToLower(strings.TrimPrefix(b.member, "serviceAccount:"))
		uid, ok := s.byEmail[email]
		if !ok {
			if uid, ok = s.outsider(email, scope, resolved, certain); !ok {
				continue
			}
		}
		a := s.accounts[uid]
		if !resolved {
			s.lose(a.project, facetBindings)
			continue
		}
		g, err := s.grant(b, scope)
		if err != nil {
			s.unjudged(a.project, b.role, err)
		}
		a.grants[g.ID] = g
	}
}

// certain reports whether the scan knows every project under its parents
// and every project's number, so that an account no listing returned is
// surely from outside the scan and every binding's project can be named
// by its id.
func (s *scan) certain() bool {
	if s.unenumerated {
		return false
	}
	for _, p := range s.projects {
		if p.number == "" {
			return false
		}
	}
	return true
}

// Where an account's email says it lives.
const (
	homeNone    = iota // an organisation or folder agent, or a domain that names no project
	homeKnown          // a project the scan knows
	homeUnknown        // a project the scan does not know (outside the scan, or unseen)
)

// homeOf returns the project an account's email names: by id
// (NAME@PROJECT.iam.gserviceaccount.com, PROJECT@appspot…) or by number
// (service-NUMBER@… agents, NUMBER-compute@developer…, NUMBER@cloudservices…).
func (s *scan) homeOf(email string, agent bool) (id string, kind int, byNumber bool) {
	local, domain, _ := strings.Cut(email, "@")
	number := ""
	switch {
	case agent:
		number = strings.TrimPrefix(local, "service-")
	case strings.HasSuffix(domain, ".iam.gserviceaccount.com"):
		id = strings.TrimSuffix(domain, ".iam.gserviceaccount.com")
	case domain == "developer.gserviceaccount.com" && strings.HasSuffix(local, "-compute"):
		number = strings.TrimSuffix(local, "-compute")
	case domain == "appspot.gserviceaccount.com":
		id = local
	}
	if number != "" {
		if !numeric.MatchString(number) {
			return "", homeNone, false
		}
		if id, ok := s.byNumber[number]; ok {
			return id, homeKnown, true
		}
		return "", homeUnknown, true
	}
	if id == "" {
		return "", homeNone, false
	}
	if _, ok := s.projects[id]; ok {
		return id, homeKnown, false
	}
	return "", homeUnknown, false
}

// outsider places a binding's member that no listing returned, and returns
// its account key. A Google service agent lives in the project its email
// names, else where it is bound; any other account is from outside the
// scan and lives where it is bound. When the scan cannot tell an outsider
// from an account it failed to list, or cannot say where it lives, the
// member is left out (false) rather than keyed as something it is not;
// the gaps of the failed listing, or one recorded here, hide it.
func (s *scan) outsider(email, scope string, resolved, certain bool) (string, bool) {
	agent := serviceAgent(email)
	uid := "external:" + email
	if agent {
		uid = "agent:" + email
	}
	if _, ok := s.accounts[uid]; ok {
		return uid, true
	}
	home, kind, byNumber := s.homeOf(email, agent)
	switch {
	case kind == homeKnown && !agent && !s.projects[home].listed:
		// Perhaps one of the accounts its project's failed listing missed.
		return "", false
	case kind == homeKnown && !agent:
		home = "" // its project was listed without it: it lives where it is bound
	case kind == homeUnknown && (s.unenumerated || (byNumber && !certain)):
		s.lostUnplaced(scope, resolved, byNumber)
		return "", false
	}
	if home == "" {
		if !resolved {
			s.lostUnplaced(scope, false, false)
			return "", false
		}
		home = strings.TrimPrefix(scope, "projects/")
	}
	s.accounts[uid] = &account{sa: &iam.ServiceAccount{Email: email}, agent: agent, external: !agent, project: home,
		keys: map[string]*iam.ServiceAccountKey{}, grants: map[string]nhi.Grant{}}
	if _, ok := s.scopes[home]; !ok {
		s.scopes[home] = ""
	}
	return uid, true
}

// lostUnplaced records that a member was left out because the scan cannot
// say where it lives: where it is bound (when that is known) and, when it
// may live in a project known only by number, in every project whose
// number the scan does not know.
func (s *scan) lostUnplaced(scope string, resolved, byNumber bool) {
	if resolved {
		s.lose(strings.TrimPrefix(scope, "projects/"), facetAccounts, facetBindings)
	}
	if !resolved || byNumber {
		for id, p := range s.projects {
			if p.number == "" {
				s.lose(id, facetAccounts, facetBindings)
			}
		}
	}
}

// lose records that facets of scope are not all known because the asset
// listing failed and the fallback could not make up for it.
func (s *scan) lose(scope string, facets ...nhi.Facet) {
	if _, ok := s.scopes[scope]; !ok {
		s.scopes[scope] = ""
	}
	const note = "the fallback could not place every binding's account or project, so they are left out"
	if s.assetErr == nil {
		s.gaps.Record(scope, opListAssets, nhi.GapError, note, facets...)
		return
	}
	s.gaps.Add(scope, opListAssets, fmt.Errorf("%w; %s", s.assetErr, note), facets...)
}

// undescribed records a gap on the owner data of every project whose
// labels no call returned (seen only through its accounts while the asset
// listing and Resource Manager failed).
func (s *scan) undescribed() {
	for id, p := range s.projects {
		if !p.described && !s.gaps.Hidden(id, nhi.FacetOwnership) {
			s.lose(id, nhi.FacetOwnership)
		}
	}
}

// spreadSearchGap repeats a failed policy search on every scope: the
// project policies read instead lack organisation, folder and resource
// bindings, which any account may hold and through which service agents
// and outside accounts are found, so no scope's grants or identity list
// are complete.
func (s *scan) spreadSearchGap() {
	if s.searchErr == nil {
		return
	}
	err := fmt.Errorf("%w; the search at %s failed: organisation, folder and resource-level bindings are not collected", s.searchErr, s.searchParent)
	for id := range s.scopes {
		if !s.searchFailedAt[id] {
			s.gaps.Add(id, opSearchPolicies, err, facetAccounts, facetFederated, facetBindings)
		}
	}
}

// spreadErr is a failed search whose gap every scope repeats.
type spreadErr struct {
	err    error
	parent string
}

// failSpread keeps the first failure of a search whose gap spreads.
func (s *scan) failSpread(first *spreadErr, err error, parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if first.err == nil {
		*first = spreadErr{err, parent}
	}
}

// spreadGaps repeats on every scope the failure of a search whose data may
// belong to any of them: pool principals live in their pool's project or
// where they are bound (and none is reported, see federatedIdentities),
// and any service account's policy may be among those not read.
func (s *scan) spreadGaps() {
	for _, sp := range []struct {
		e    spreadErr
		op   string
		what string
	}{
		{s.fedErr, opSearchFederated, "workload identity federation principals"},
		{s.trustErr, opSearchAccountPolicies, "service accounts' own policies"},
	} {
		if sp.e.err == nil {
			continue
		}
		err := fmt.Errorf("%w; the search for %s at %s failed", sp.e.err, sp.what, sp.e.parent)
		for id := range s.scopes {
			if id != gapScope(sp.e.parent) {
				s.gaps.Add(id, sp.op, err)
			}
		}
	}
}

// scopes lists every scope with the facets read there: everything the
// collector reads for a project, the identity list and grants elsewhere
// (organisations, folders and resources hold only accounts known from
// their bindings).
func (c *Collector) scopes(s *scan) []nhi.Scope {
	project := []nhi.Facet{facetAccounts, facetFederated, facetUserKeys, facetSystemKeys, facetAPIKeys, facetHMACKeys, facetProviders,
		facetBindings, nhi.FacetTrust, nhi.FacetOwnership}
	if !c.cfg.SkipUsage {
		project = append(project, facetUsage)
	}
	if !c.cfg.SkipRecommender {
		project = append(project, facetRecommender)
	}
	out := make([]nhi.Scope, 0, len(s.scopes))
	for id, name := range s.scopes {
		sc := nhi.Scope{Provider: nhi.GCP, ID: id, Name: name, Facets: []nhi.Facet{facetAccounts, facetFederated, facetBindings}}
		if p, ok := s.projects[id]; ok {
			if sc.Name == "" {
				sc.Name = p.name
			}
			sc.Facets = slices.Clone(project)
		}
		out = append(out, sc)
	}
	return out
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

// grantScope normalises a full resource name: "organizations/N",
// "folders/N", "projects/<id>" or the resource name without "//". It
// reports false for a project named by a number the scan cannot resolve
// to its id.
func (s *scan) grantScope(resource string) (string, bool) {
	r := strings.TrimPrefix(resource, "//")
	rest, ok := strings.CutPrefix(r, "cloudresourcemanager.googleapis.com/")
	if !ok {
		return r, true
	}
	n, ok := strings.CutPrefix(rest, "projects/")
	if !ok {
		return rest, true
	}
	if id, ok := s.byNumber[n]; ok {
		return "projects/" + id, true
	}
	return rest, !numeric.MatchString(n)
}

// grant maps a binding; scope is its normalised resource. A predefined
// role is judged from its name and the normalised scope, as
// privilege.Classify would judge the same grant from an imported
// inventory; a custom role from the permissions its definition includes
// (privilege.GCPPermissions). When that definition could not be read, the
// grant is not judged and err says why: the caller records a gap on the
// holder's grants.
func (s *scan) grant(b binding, scope string) (nhi.Grant, error) {
	level := privilege.GCPScopeLevel(scope)
	priv, privileged, reason := privilege.GCPRole(b.role, level)
	verdict := nhi.VerdictOf(privileged)
	var err error
	if privilege.GCPCustomRole(b.role) {
		if def := s.roles[b.role]; def != nil && def.err == nil {
			priv, privileged, reason = privilege.GCPPermissions(def.perms, level)
			verdict = nhi.VerdictOf(privileged)
		} else {
			verdict, err = nhi.NotJudged, errRoleUnread
			if def != nil {
				err = def.err
			}
		}
	}
	g := nhi.Grant{ID: b.role + "@" + scope, Kind: grantKind, Entitlement: b.role, Scope: scope,
		Privilege: priv, Privileged: verdict, Reason: reason}
	if b.condition != "" {
		g.ID += "?condition=" + b.condition
		g.Via = "condition: " + b.condition
	}
	return g, err
}

// identity maps one account.
func (c *Collector) identity(s *scan, a *account) nhi.Identity {
	var id nhi.Identity
	switch {
	case a.agent:
		id = agentIdentity(a)
	case a.external:
		id = c.externalIdentity(a)
	default:
		id = c.accountIdentity(s, a)
	}
	p := s.projects[a.project]
	for _, g := range a.grants {
		if p != nil && !a.agent && !a.external {
			g.Use = p.grantUse(a.sa.Email, &g)
			g.Recommendation = p.grantRecommendation(a.sa.Email, &g)
		}
		id.Grants = append(id.Grants, g)
	}
	return id
}

func agentIdentity(a *account) nhi.Identity {
	return nhi.Identity{
		ID: nhi.MakeID(nhi.GCP, "service-agent", a.sa.Email), Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount,
		NativeID: a.sa.Email, Name: a.sa.Email, Scope: a.project, Status: nhi.StatusActive, ProviderManaged: true,
		Usage:      nhi.Usage{State: nhi.UsageNotReported, Reason: "Google-managed service agent: Activity Analyzer does not report it"},
		Attributes: map[string]string{"service_agent": "true"},
	}
}

func (c *Collector) externalIdentity(a *account) nhi.Identity {
	return nhi.Identity{
		ID: nhi.MakeID(nhi.GCP, "external", a.sa.Email), Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount,
		NativeID: a.sa.Email, Name: a.sa.Email, Scope: a.project, Status: nhi.StatusActive,
		// Scanning an organisation, an account outside it belongs to
		// someone else (a vendor, a partner): a third party.
		ThirdParty: c.cfg.Organization != "",
		Usage: nhi.Usage{State: nhi.UsageUnknown, Source: usageSource,
			Reason: "service account outside the collected scopes: its authentication is reported in its own project"},
		Attributes: map[string]string{"email": a.sa.Email, "outside_collected_scopes": "true"},
	}
}

// accountIdentity maps a listed service account with its keys, bound API
// keys and usage.
func (c *Collector) accountIdentity(s *scan, a *account) nhi.Identity {
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
	s.impersonatorsOf(&id, sa.UniqueId, sa.Email)
	delegated := c.delegate[strings.ToLower(sa.Oauth2ClientId)] || c.delegate[strings.ToLower(sa.Email)] || c.delegate[sa.UniqueId]
	if delegated {
		id.Attributes["domain_wide_delegation"] = "true"
	}
	id.Usage = accountUsage(p, sa, delegated, id.Attributes)

	since := "the start of the observation period"
	if !p.obsStart.IsZero() {
		since = p.obsStart.Format(time.DateOnly)
	}
	for kid, k := range a.keys {
		id.Credentials = append(id.Credentials, keyCredential(s, p, kid, k, delegated, since))
	}
	id.Credentials = append(id.Credentials, apiKeyCredentials(p, sa.Email)...)
	id.Credentials = append(id.Credentials, hmacCredentials(p, sa.Email)...)
	return id
}

// accountUsage is the account's last authentication, or why it is
// unknown: usage not read, or an Activity Analyzer blind spot (a bound API
// key, domain-wide delegation, or API keys that could not be listed).
func accountUsage(p *project, sa *iam.ServiceAccount, delegated bool, attrs map[string]string) nhi.Usage {
	since := "the start of the observation period"
	if !p.obsStart.IsZero() {
		since = p.obsStart.Format(time.DateOnly)
	}
	var blind []string
	if p.hasAPIKeyFor[strings.ToLower(sa.Email)] {
		blind = append(blind, "API keys are bound to it and requests they authenticate are not recorded")
	}
	if delegated {
		blind = append(blind, "it has domain-wide delegation and Workspace API use through it is not recorded")
	}
	if p.apiKeysErr != "" {
		blind = append(blind, p.apiKeysErr)
	}
	if p.hasHMACFor[strings.ToLower(sa.Email)] {
		blind = append(blind, "it has an active HMAC key and Cloud Storage requests it signs are not recorded")
	}
	if p.hmacErr != "" {
		blind = append(blind, p.hmacErr)
	}
	last, seen := p.accountLast(sa)
	switch {
	case p.usageErr != "":
		return nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, Reason: p.usageErr}
	case len(blind) > 0:
		if seen {
			attrs["activity_analyzer_last_authenticated"] = last.Format(time.DateOnly)
		}
		return nhi.Usage{State: nhi.UsageUnknown, Source: usageSource, AsOf: p.obsEnd,
			Reason: "Activity Analyzer blind spot: " + strings.Join(blind, "; ")}
	case seen:
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: usageSource, AsOf: p.obsEnd, Reason: usedCaveat}
	}
	return nhi.Usage{State: nhi.UsageNeverUsed, Source: usageSource, AsOf: p.obsEnd,
		Reason: "no authentication recorded since " + since}
}

// apiKeyCredentials are the live API keys of the project bound to the
// account.
func apiKeyCredentials(p *project, email string) []nhi.Credential {
	var out []nhi.Credential
	for _, k := range p.apiKeys {
		if !strings.EqualFold(k.ServiceAccountEmail, email) || k.DeleteTime != "" {
			continue
		}
		cred := nhi.Credential{ID: k.Uid, Type: nhi.CredGCPAPIKey, Name: k.DisplayName, Created: parseTime(k.CreateTime),
			Status: nhi.StatusActive, Attributes: map[string]string{"resource_name": k.Name, "bound_service_account": k.ServiceAccountEmail},
			Usage: nhi.Usage{State: nhi.UsageNotReported, Reason: "Activity Analyzer does not record requests authenticated by API keys"}}
		if cred.ID == "" {
			cred.ID = keyID(k.Name)
		}
		out = append(out, cred)
	}
	return out
}

// hmacCredentials are the account's Cloud Storage HMAC keys: active or
// inactive (a deleted key is not listed). They generate no authentication
// activity, so their usage is not reported.
func hmacCredentials(p *project, email string) []nhi.Credential {
	var out []nhi.Credential
	for _, k := range p.hmacKeys {
		if !strings.EqualFold(k.ServiceAccountEmail, email) || k.AccessId == "" || k.State == "DELETED" {
			continue
		}
		cred := nhi.Credential{ID: k.AccessId, Type: nhi.CredGCPHMACKey, Created: parseTime(k.TimeCreated), Status: nhi.StatusActive,
			Attributes: map[string]string{"state": k.State},
			Usage:      nhi.Usage{State: nhi.UsageNotReported, Reason: "Cloud Storage HMAC keys generate no authentication activity"}}
		if k.State != "ACTIVE" {
			cred.Status = nhi.StatusDisabled
		}
		out = append(out, cred)
	}
	return out
}

func keyCredential(s *scan, p *project, kid string, k *iam.ServiceAccountKey, delegated bool, since string) nhi.Credential {
	asOf := p.obsEnd
	system := k.KeyType == "SYSTEM_MANAGED"
	cred := nhi.Credential{ID: kid, Type: nhi.CredGCPUserManagedKey, Created: parseTime(k.ValidAfterTime), Status: nhi.StatusActive,
		ProviderRotated: system, Attributes: map[string]string{}}
	if system {
		cred.Type = nhi.CredGCPSystemManagedKey
	}
	if exp := parseTime(k.ValidBeforeTime); !exp.IsZero() && exp.Year() < 9999 {
		cred.Expires = exp
	}
	why, unknown := s.keyUnknown[kid]
	switch {
	case k.Disabled:
		cred.Status = nhi.StatusDisabled
	case !cred.Expires.IsZero() && !cred.Expires.After(s.now):
		cred.Status = nhi.StatusExpired
	case unknown:
		unknownKeyState(&cred, why)
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
		cred.Usage = nhi.Usage{State: nhi.UsageUsed, LastUsed: last, Source: usageSource, AsOf: asOf, Reason: usedCaveat}
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
