package aws_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// hostile is a role description as an attacker who may edit roles would
// write it: markup, a spreadsheet formula, a terminal escape, a line
// break, a right-to-left override and a zero-width joiner. (XML cannot
// carry ESC: the fake's answer, like any XML encoder, turns it into
// U+FFFD; TestReviewText covers it.)
const hostile = "=HYPERLINK(\"http://x\")<script>alert(1)</script>\x1b[2J\r\nowner: \u202eeulav\u200d."

// TestRoleDetails: reviewers get each role's description, path, maximum
// session duration and permissions boundary, and a user's boundary
// (issue 13). Descriptions are hostile input: control, bidirectional and
// invisible characters are stored as visible escapes, and the inventory's
// JSON escapes the markup.
func TestRoleDetails(t *testing.T) {
	seed := awsfake.Demo(now)
	seed.Accounts[1].Roles = append(seed.Accounts[1].Roles, awsfake.Role{Name: "hostile-description", ID: "AROA222HOSTILE000001", Path: "/apps/payments/",
		Created: now.AddDate(0, 0, -10), Trust: `{"Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}}`,
		Description: hostile + strings.Repeat("x", 1200)})
	seed.Accounts[1].Users[0].PermissionsBoundary = "arn:aws:iam::222222222222:policy/ci-boundary"
	srv := startFake(t, seed)
	srv.SetPageSize(2) // ListRoles pages too
	inv := collectortest.Collect(t, newCollector(t, srv, nil))

	api := byName(t, inv, awsfake.DemoPayments, "payments-api-runtime")
	want := map[string]string{
		"description":                  "Runtime role of the payments API (ECS tasks); owner: payments",
		"max_session_duration_seconds": "7200",
		"permissions_boundary":         "arn:aws:iam::222222222222:policy/payments-boundary",
		"last_used_region":             "eu-west-1",
	}
	if diff := cmp.Diff(want, api.Attributes); diff != "" {
		t.Errorf("payments-api-runtime attributes (-want +got):\n%s", diff)
	}
	if u := byName(t, inv, awsfake.DemoPayments, seed.Accounts[1].Users[0].Name); u.Attributes["permissions_boundary"] != "arn:aws:iam::222222222222:policy/ci-boundary" {
		t.Errorf("user boundary = %q", u.Attributes["permissions_boundary"])
	}

	h := byName(t, inv, awsfake.DemoPayments, "hostile-description")
	desc := h.Attributes["description"]
	wantPrefix := "=HYPERLINK(\"http://x\")<script>alert(1)</script>\uFFFD[2J" + `\r\nowner: \u202eeulav\u200d.`
	if !strings.HasPrefix(desc, wantPrefix) {
		t.Errorf("description = %q, want it to start %q", desc, wantPrefix)
	}
	// The padding left is IAM's 1000 characters less the hostile part (+1:
	// the x of http://x).
	if n, want := strings.Count(desc, "x"), 1000-len([]rune(hostile))+1; n != want || !strings.HasSuffix(desc, "…") {
		t.Errorf("description keeps %d of the padding, want %d (IAM's 1000 characters) and a mark where it was cut", n, want)
	}
	if h.Path != "/apps/payments/" || h.Attributes["max_session_duration_seconds"] != "3600" {
		t.Errorf("path %q, attributes %v", h.Path, h.Attributes)
	}
	var js bytes.Buffer
	if err := nhi.Encode(&js, inv); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\x1b", "\u202e", "\u200d", "\r"} {
		if bytes.Contains(js.Bytes(), []byte(bad)) {
			t.Errorf("inventory JSON carries %q raw", bad)
		}
	}
}

// TestListRolesDenied: without ListRoles, roles have no description or
// session duration, and the gap hides that detail only: the roles, their
// grants, trust and usage are still observed.
func TestListRolesDenied(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.Deny(awsfake.DemoPayments, "iam:ListRoles")
	inv, err := newCollector(t, srv, nil).Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := onlyGap(t, inv, awsfake.DemoPayments)
	if g.Source != "iam:ListRoles" || g.Permission != "iam:ListRoles" || !slices.Equal(facetsOf(g), []string{"identities:aws-iam-role:details"}) {
		t.Errorf("gap = %+v", g)
	}
	api := byName(t, inv, awsfake.DemoPayments, "payments-api-runtime")
	if api.Attributes["description"] != "" || api.Attributes["role_details"] != "not listed (see gaps)" || api.Attributes["permissions_boundary"] == "" {
		t.Errorf("attributes = %v", api.Attributes)
	}
	observed(t, inv, awsfake.DemoPayments, map[nhi.Facet]bool{
		"identities:aws-iam-role:details": false, "identities:aws-iam-role": true, "trust": true,
		"grants:inline-policy": true, "usage:role-last-used": true,
	})
}

func TestReviewText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain text, <b>markup</b> & =formula", 100, "plain text, <b>markup</b> & =formula"},
		{"esc\x1b[31mred\x7f\u009bcsi", 100, `esc\x1b[31mred\x7f\u009bcsi`},
		{"tab\tline\nreturn\r", 100, `tab\tline\nreturn\r`},
		{"bidi \u202a\u202b\u202c\u202d\u202e \u2066\u2067\u2068\u2069 \u200e\u200f\u061c", 100, `bidi \u202a\u202b\u202c\u202d\u202e \u2066\u2067\u2068\u2069 \u200e\u200f\u061c`},
		{"zero\u200bwidth\u200c\u200d\u2060\ufeff", 100, `zero\u200bwidth\u200c\u200d\u2060\ufeff`},
		{"bad \xff utf8", 100, "bad \uFFFD utf8"},
		{"accents éü 日本", 100, "accents éü 日本"},
		{"abcdef", 3, "abc…"},
		{"abc", 3, "abc"},
	} {
		if got := awscol.ReviewText(c.in, c.max); got != c.want {
			t.Errorf("reviewText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
