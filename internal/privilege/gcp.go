package privilege

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

func classifyGCP(g *nhi.Grant) (bool, string) {
	e := g.Entitlement
	switch {
	case e == "roles/owner", e == "roles/editor":
		return true, "basic role " + e
	case e == "roles/iam.serviceAccountTokenCreator", e == "roles/iam.serviceAccountUser":
		return true, "impersonation path " + e
	case strings.HasSuffix(e, ".admin") || strings.HasSuffix(e, "Admin"):
		return true, "admin role " + e
	}
	return false, ""
}
