package privilege

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

func classifyAWS(g *nhi.Grant) (bool, string) {
	e := g.Entitlement
	switch {
	case strings.HasSuffix(e, ":policy/AdministratorAccess"):
		return true, "AdministratorAccess"
	case strings.HasSuffix(e, ":policy/IAMFullAccess"):
		return true, "IAMFullAccess"
	case strings.HasSuffix(e, ":policy/PowerUserAccess"):
		return true, "PowerUserAccess"
	case e == "*" || e == "*:*" || e == "iam:*":
		return true, "wildcard action " + e
	}
	return false, ""
}
