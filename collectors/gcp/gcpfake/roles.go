package gcpfake

import (
	iam "google.golang.org/api/iam/v1"
)

// getRole answers iam.organizations.roles.get and iam.projects.roles.get
// for a custom role, with its included permissions.
func (s *Server) getRole(name string) (any, *apiError) {
	for _, r := range s.seed.CustomRoles {
		if r.Name != name {
			continue
		}
		return &iam.Role{Name: r.Name, Title: r.Title, IncludedPermissions: append([]string(nil), r.Permissions...),
			Stage: "GA", Etag: "BwWKmjvelug=", Deleted: r.Deleted}, nil
	}
	return nil, notFound("role " + name)
}
