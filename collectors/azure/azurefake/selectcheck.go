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
	roleEligibilityProps  = properties(DirectoryRoleEligibility{})
	groupProps            = properties(Group{}, "description", "mail", "mailNickname", "createdDateTime", "membershipRule")
	// isPrivileged is a beta property of unifiedRoleDefinition; v1.0
	// does not know it.
	roleDefinitionV1Props   = withoutProp(properties(DirectoryRole{}, "description", "isEnabled", "resourceScopes", "rolePermissions", "version"), "isPrivileged")
	roleDefinitionBetaProps = properties(DirectoryRole{}, "description", "isEnabled", "resourceScopes", "rolePermissions", "version", "allowedPrincipalTypes")
)

func withoutProp(m map[string]bool, k string) map[string]bool {
	delete(m, k)
	return m
}

// EntityProperties is what the fake accepts in $select for one Graph
// entity type in one API version.
type EntityProperties struct {
	// Version is "v1.0" or "beta".
	Version string
	// Type is the entity type's name without its namespace, as Graph's
	// metadata spells it ("application", "unifiedRoleDefinition").
	Type       string
	Properties []string
}

// SelectableProperties lists the properties the fake lets $select name,
// per entity type and version, sorted: the conformance test checks each
// against Graph's own metadata.
func SelectableProperties() []EntityProperties {
	list := []struct {
		version, typ string
		props        map[string]bool
	}{
		{"v1.0", "application", applicationProps},
		{"v1.0", "servicePrincipal", servicePrincipalProps},
		{"v1.0", "user", userProps},
		{"v1.0", "unifiedRoleAssignment", roleAssignmentProps},
		{"v1.0", "unifiedRoleEligibilityScheduleInstance", roleEligibilityProps},
		{"v1.0", "group", groupProps},
		{"v1.0", "unifiedRoleDefinition", roleDefinitionV1Props},
		{"beta", "unifiedRoleDefinition", roleDefinitionBetaProps},
	}
	out := make([]EntityProperties, 0, len(list))
	for _, l := range list {
		props := make([]string, 0, len(l.props))
		for p := range l.props {
			props = append(props, p)
		}
		sort.Strings(props)
		out = append(out, EntityProperties{Version: l.version, Type: l.typ, Properties: props})
	}
	return out
}
