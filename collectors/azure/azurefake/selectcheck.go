package azurefake

import (
	"reflect"
	"sort"
	"strings"
)

// properties returns the wire property names of a seed type (its JSON
// field names), the set Graph accepts in $select for that entity.
func properties(v any, extra ...string) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	for _, e := range extra {
		out[e] = true
	}
	return out
}

// checkSelect answers as Graph does when $select names a property the
// entity type does not have in this API version: 400 with
// "Could not find a property named 'x' on type 'microsoft.graph.y'".
func checkSelect(sel map[string]bool, typeName string, known map[string]bool) error {
	var bad []string
	for k := range sel {
		if !known[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return queryError("Could not find a property named '" + bad[0] + "' on type '" + typeName + "'.")
}

// Properties of the entities as Graph v1.0 and beta define them.
var (
	applicationProps      = properties(Application{}, "notes", "identifierUris", "web", "api", "requiredResourceAccess", "publisherDomain", "description")
	servicePrincipalProps = properties(ServicePrincipal{}, "servicePrincipalNames", "appDisplayName", "description", "notes", "preferredSingleSignOnMode")
	userProps             = properties(User{}, "givenName", "surname", "jobTitle", "department", "createdDateTime")
	roleAssignmentProps   = properties(DirectoryRoleAssignment{}, "appScopeId", "condition")
	// isPrivileged is a beta property of unifiedRoleDefinition; v1.0
	// does not know it.
	roleDefinitionV1Props   = withoutProp(properties(DirectoryRole{}, "description", "isEnabled", "resourceScopes", "rolePermissions", "version"), "isPrivileged")
	roleDefinitionBetaProps = properties(DirectoryRole{}, "description", "isEnabled", "resourceScopes", "rolePermissions", "version", "allowedPrincipalTypes")
)

func withoutProp(m map[string]bool, k string) map[string]bool {
	delete(m, k)
	return m
}
