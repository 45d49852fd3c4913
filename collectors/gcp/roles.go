package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	iam "google.golang.org/api/iam/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// roleDef is what the scan read of a custom role: its permissions, or
// why they are unknown.
type roleDef struct {
	perms []string
	err   error
}

type unjudgedRole struct {
	role string
	err  error
}

// errRoleUnread: a custom role no call read (the scan stopped first).
var errRoleUnread = errors.New("custom role definition not read")

// readRoles reads the definition of every custom role the collected
// bindings name, once each (iam.organizations.roles.get or
// iam.projects.roles.get): a custom role is judged by the permissions it
// includes, never by its name. A role that no longer exists grants
// nothing; one that cannot be read leaves its grants not judged, with a
// gap on the grants of its holders (see unjudged).
func (c *Collector) readRoles(ctx context.Context, s *scan) {
	s.mu.Lock()
	var names []string
	seen := map[string]bool{}
	for _, b := range s.bindings {
		if privilege.GCPCustomRole(b.role) && !seen[b.role] {
			seen[b.role] = true
			names = append(names, b.role)
		}
	}
	for _, r := range s.impersonationRoles() {
		if !seen[r] {
			seen[r] = true
			names = append(names, r)
		}
	}
	s.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for _, name := range names {
		g.Go(func() error {
			def := c.readRole(gctx, s, name)
			s.mu.Lock()
			s.roles[name] = def
			s.mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
}

func (c *Collector) readRole(ctx context.Context, s *scan, name string) *roleDef {
	var r *iam.Role
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		if strings.HasPrefix(name, "organizations/") {
			r, err = c.iam.Organizations.Roles.Get(name).Context(ctx).Do()
		} else {
			r, err = c.iam.Projects.Roles.Get(name).Context(ctx).Do()
		}
		return err
	})
	switch {
	case errors.Is(err, collectors.ErrNotFound):
		// Deleted for good: a binding to it grants nothing.
		return &roleDef{}
	case err != nil:
		scope, _, _ := strings.Cut(name, "/roles/")
		c.fail(s, gapScope(scope), opGetRole, err, "grants of "+name+" are not judged")
		return &roleDef{err: err}
	case r.Deleted:
		return &roleDef{}
	}
	return &roleDef{perms: r.IncludedPermissions}
}

// unjudged records that a grant of scope's identity names a custom role
// whose definition was not read: its grants there cannot be judged.
func (s *scan) unjudged(scope, role string, err error) {
	s.gaps.Add(scope, opGetRole, fmt.Errorf("%w; grants of %s are not judged", err, role))
}
