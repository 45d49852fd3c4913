package gcp

import (
	"sort"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Workload identity federation members. A workload outside Google Cloud (a
// GitHub Actions job, an AWS role, a Kubernetes pod) authenticates through a
// provider of a workload identity pool and then acts as a principal of that
// pool: it holds roles itself, or impersonates a service account through
// roles/iam.workloadIdentityUser. GKE Workload Identity is the same, with a
// pool Google manages per project (PROJECT.svc.id.goog). In IAM policies
// these principals appear as:
//
//	serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA]
//	principal://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/subject/SUBJECT
//	principalSet://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/group/GROUP
//	principalSet://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/attribute.NAME/VALUE
//	principalSet://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/*
//
// Each becomes an identity of kind gcp-federated-principal, keyed by the
// member itself, never a service account from outside the scan. Members
// of workforce identity pools (locations/global/workforcePools/…) are
// people signing in through an external identity provider, not workloads:
// they are not collected, like user: and group: members.

// federatedQuery finds the bindings that name pool principals.
const federatedQuery = "memberTypes:(principal OR principalSet)"

// poolMember is a parsed federation member.
type poolMember struct {
	member string
	// gke: a GKE Workload Identity pool (PROJECT.svc.id.goog).
	gke bool
	// poolProject names the pool's project: by number (principal://) or,
	// with projectByID, by id (PROJECT.svc.id.goog[…]).
	poolProject string
	projectByID bool
	pool        string
	// what the member matches: "subject", "group", "attribute", "all"
	// (every identity of the pool), "kubernetes-service-account", or the
	// attribute set a GKE principalSet names ("namespace",
	// "kubernetes.cluster" …); key and value qualify it.
	what, key, value string
}

const poolPrefix = "iam.googleapis.com/projects/"

// parseFederated reports whether member is a workload identity federation
// member, and parses it.
func parseFederated(member string) (poolMember, bool) {
	if email, ok := strings.CutPrefix(member, "serviceAccount:"); ok {
		return parseGKEMember(member, email)
	}
	rest, ok := strings.CutPrefix(member, "principal://")
	if !ok {
		rest, ok = strings.CutPrefix(member, "principalSet://")
	}
	if !ok {
		return poolMember{}, false
	}
	rest, ok = strings.CutPrefix(rest, poolPrefix)
	if !ok {
		return poolMember{}, false // a workforce pool (people) or a set of service accounts
	}
	// NUMBER/locations/global/workloadIdentityPools/POOL/WHAT…
	seg := strings.SplitN(rest, "/", 6)
	if len(seg) < 6 || seg[1] != "locations" || seg[3] != "workloadIdentityPools" || seg[4] == "" || seg[5] == "" {
		return poolMember{}, false
	}
	m := poolMember{member: member, poolProject: seg[0], pool: seg[4], gke: strings.HasSuffix(seg[4], ".svc.id.goog")}
	what, value, _ := strings.Cut(seg[5], "/")
	switch {
	case what == "*":
		m.what = "all"
	case strings.HasPrefix(what, "attribute."):
		m.what, m.key, m.value = "attribute", strings.TrimPrefix(what, "attribute."), value
	default:
		m.what, m.value = what, value
	}
	return m, true
}

// parseGKEMember parses serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA].
func parseGKEMember(member, email string) (poolMember, bool) {
	pool, ksa, ok := strings.Cut(email, "[")
	if !ok || !strings.HasSuffix(ksa, "]") || !strings.HasSuffix(pool, ".svc.id.goog") {
		return poolMember{}, false
	}
	project := strings.TrimSuffix(pool, ".svc.id.goog")
	return poolMember{member: member, gke: true, poolProject: project, projectByID: true, pool: pool,
		what: "kubernetes-service-account", value: strings.TrimSuffix(ksa, "]")}, true
}

// poolName is the pool's resource name (or, for the legacy GKE form, the
// pool itself).
func (m poolMember) poolName() string {
	if m.projectByID {
		return m.pool
	}
	return "projects/" + m.poolProject + "/locations/global/workloadIdentityPools/" + m.pool
}

// principal is a federation member that holds grants.
type principal struct {
	poolMember
	grants map[string]nhi.Grant
	// places: the projects (by id) and parent scopes the bindings were
	// found in, where it lives when its pool's project is not scanned.
	projects, parents map[string]bool
	// lost: a binding could not be keyed as a clean scan would key it.
	lost bool
	// unjudged: custom roles of its grants whose definition was not read.
	unjudged []unjudgedRole
}

// bindFederated adds a binding's grant to its federation member.
func (s *scan) bindFederated(m poolMember, b binding, scope string, resolved bool) {
	p := s.federated[m.member]
	if p == nil {
		p = &principal{poolMember: m, grants: map[string]nhi.Grant{}, projects: map[string]bool{}, parents: map[string]bool{}}
		s.federated[m.member] = p
	}
	if b.parent != "" {
		p.parents[gapScope(b.parent)] = true
	}
	if id := s.bindingProject(b, scope); id != "" {
		p.projects[id] = true
	}
	if !resolved {
		p.lost = true
		return
	}
	g, err := s.grant(b, scope)
	if err != nil {
		p.unjudged = append(p.unjudged, unjudgedRole{b.role, err})
	}
	p.grants[g.ID] = g
}

// bindingProject returns the id of the project a binding lies in, when
// the scan knows it: the search result's project, or the project its
// resource names.
func (s *scan) bindingProject(b binding, scope string) string {
	ref := strings.TrimPrefix(b.project, "projects/")
	if ref == "" {
		if _, after, ok := strings.Cut("/"+scope, "/projects/"); ok {
			ref, _, _ = strings.Cut(after, "/")
		}
	}
	if id, ok := s.byNumber[ref]; ok {
		return id
	}
	if _, ok := s.projects[ref]; ok {
		return ref
	}
	return ""
}

// place returns the scope a federation member lives in: its pool's
// project when the scan holds it, else the first project (by id) its
// bindings lie in, else the first parent whose search found it. It is
// always a scope of the scan.
func (s *scan) place(p *principal) string {
	home := p.poolProject
	if !p.projectByID {
		home = s.byNumber[p.poolProject]
	}
	if _, ok := s.projects[home]; ok && home != "" {
		return home
	}
	for _, set := range []map[string]bool{p.projects, p.parents} {
		if len(set) > 0 {
			ids := make([]string, 0, len(set))
			for id := range set {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			return ids[0]
		}
	}
	return ""
}

// federatedIdentities maps the federation members. Pool principals
// (principal://, principalSet://) are found by their own policy search:
// when it failed anywhere their grants may be incomplete, so none is
// reported and the search's gap hides the identity list of the kind.
func (s *scan) federatedIdentities() []nhi.Identity {
	var out []nhi.Identity
	for _, p := range s.federated {
		if s.fedErr.err != nil && !p.projectByID {
			continue
		}
		scope := s.place(p)
		if scope == "" {
			continue
		}
		if p.lost {
			s.lose(scope, facetBindings)
		}
		for _, u := range p.unjudged {
			s.unjudged(scope, u.role, u.err)
		}
		id := federatedIdentity(p, scope)
		s.addPool(&id, p.poolMember)
		out = append(out, id)
	}
	return out
}

// addPool gives a pool principal its pool's providers as credentials, and
// a weak-trust signal when it trusts too much. A principal of a disabled
// pool cannot authenticate. Nothing is added when the pool's project was
// not read.
func (s *scan) addPool(id *nhi.Identity, m poolMember) {
	wp, read := s.poolOf(m)
	switch {
	case !read:
		return
	case wp == nil:
		id.Attributes["workload_identity_pool_state"] = "not found: its principals cannot authenticate"
		return
	case wp.disabled:
		id.Status = nhi.StatusDisabled
		id.Attributes["workload_identity_pool_state"] = "disabled"
	}
	id.Credentials = providerCredentials(wp)
	if why := weakFederation(m, wp); why != "" {
		id.Signals = append(id.Signals, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: why})
	}
}

func federatedIdentity(p *principal, scope string) nhi.Identity {
	name := strings.TrimPrefix(p.member, "serviceAccount:")
	id := nhi.Identity{
		ID: nhi.MakeID(nhi.GCP, "federated", name), Provider: nhi.GCP, Kind: nhi.KindGCPFederatedPrincipal,
		NativeID: p.member, Name: name, Scope: scope, Status: nhi.StatusActive,
		Usage: nhi.Usage{State: nhi.UsageNotReported,
			Reason: "Activity Analyzer does not report federated principals; a service account they impersonate reports its own use"},
		Attributes: map[string]string{"member": p.member, "workload_identity_pool": p.poolName(), "principal_type": p.what},
	}
	if p.gke {
		id.Attributes["gke_workload_identity"] = "true"
	}
	switch {
	case p.what == "attribute":
		id.Attributes["attribute"] = p.key
		id.Attributes["attribute_value"] = p.value
	case p.value != "":
		id.Attributes[strings.NewReplacer(".", "_", "-", "_").Replace(p.what)] = p.value
	}
	if !p.projectByID {
		id.Attributes["pool_project_number"] = p.poolProject
	}
	for _, g := range p.grants {
		id.Grants = append(id.Grants, g)
	}
	return id
}
