package gcp

import (
	"sort"
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// addImpersonators records the bindings of a service account's own policy
// (//iam.googleapis.com/projects/P/serviceAccounts/ACCOUNT), every member
// kind included: users and groups as well as accounts and workloads.
func (s *scan) addImpersonators(resource string, bs []binding) {
	name := strings.TrimPrefix(resource, "//iam.googleapis.com/")
	_, ref, ok := strings.Cut(name, "/serviceAccounts/")
	if !ok || ref == "" || strings.Contains(ref, "/") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ref = strings.ToLower(ref)
	s.accountPolicy[ref] = append(s.accountPolicy[ref], bs...)
}

// impersonationRoles lists the custom roles of service accounts' own
// policies, whose definitions readRoles reads too.
func (s *scan) impersonationRoles() []string {
	var out []string
	for _, bs := range s.accountPolicy {
		for _, b := range bs {
			if privilege.GCPCustomRole(b.role) {
				out = append(out, b.role)
			}
		}
	}
	return out
}

// publicMembers are the members that stand for anyone.
var publicMembers = map[string]string{
	"allUsers":              "anyone on the internet",
	"allAuthenticatedUsers": "anyone with a Google account",
}

// impersonatorsOf lists, on a service account's identity, the members of
// its own policy that may act as it (privilege.GCPCanImpersonate): users,
// groups, other accounts and workloads, with the role. A public member
// (allUsers, allAuthenticatedUsers) is a weak-trust signal. A custom role
// whose definition was not read is listed as such.
func (s *scan) impersonatorsOf(id *nhi.Identity, uid, email string) {
	var who, public []string
	for _, ref := range []string{strings.ToLower(uid), strings.ToLower(email)} {
		for _, b := range s.accountPolicy[ref] {
			var perms []string
			known := true
			if privilege.GCPCustomRole(b.role) {
				def := s.roles[b.role]
				known = def != nil && def.err == nil
				if known {
					perms = def.perms
				}
			}
			switch {
			case !known:
				who = append(who, b.member+" ("+b.role+", definition not read)")
			case privilege.GCPCanImpersonate(b.role, perms):
				who = append(who, b.member+" ("+b.role+")")
				if what, ok := publicMembers[b.member]; ok {
					public = append(public, what+" ("+b.member+") holds "+b.role+" on it")
				}
			}
		}
	}
	if len(who) == 0 {
		return
	}
	sort.Strings(who)
	id.Attributes["impersonators"] = strings.Join(compact(who), "; ")
	sort.Strings(public)
	for _, p := range compact(public) {
		id.Signals = append(id.Signals, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: p + ": anyone may act as this service account"})
	}
}

func compact(sorted []string) []string {
	out := sorted[:0]
	for i, v := range sorted {
		if i == 0 || v != sorted[i-1] {
			out = append(out, v)
		}
	}
	return out
}
