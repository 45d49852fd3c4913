package privilege

import (
	"github.com/nhiscan/nhiscan/internal/nhi"
)

func classifyGitHub(g *nhi.Grant) (bool, string) {
	if g.Privilege == nhi.PrivAdmin {
		return true, "admin permission"
	}
	if g.Scope == "*" && g.Privilege == nhi.PrivWrite && (g.Kind == "app-permission" || g.Kind == "token-permission") {
		return true, "write on every repository of the organisation"
	}
	return false, ""
}
