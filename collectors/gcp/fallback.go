package gcp

import (
	"context"
	"strings"

	"golang.org/x/sync/errgroup"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	iam "google.golang.org/api/iam/v1"
)

// fallback reads through IAM and Resource Manager, project by project,
// what the asset calls at parent could not: the accounts and keys when the
// asset listing failed (accounts), the project IAM policies when the
// policy search failed (policies).
//
// The projects to fall back on are those the asset listing saw (all of
// them when it succeeded, those of the pages read before it failed) and,
// when it failed, those Resource Manager lists. A project seen in a
// partial listing is re-read through IAM even when Resource Manager
// cannot list it, so that it is either complete or carries its own gap.
func (c *Collector) fallback(ctx context.Context, s *scan, parent string, seen []string, accounts, policies bool) {
	byID := map[string]*project{}
	if accounts {
		for _, p := range c.enumerateProjects(ctx, s, parent) {
			byID[p.id] = p
		}
	}
	s.mu.Lock()
	for _, id := range seen {
		byID[id] = s.projects[id]
	}
	s.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for _, p := range sortedProjects(byID) {
		g.Go(func() error {
			if accounts {
				c.fallbackAccounts(gctx, s, p)
			}
			if policies {
				c.fallbackPolicy(gctx, s, p)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// enumerateProjects lists the projects under a parent through Resource
// Manager, walking folders. When a listing fails, projects may exist that
// the scan never sees: the scan is marked unenumerated.
func (c *Collector) enumerateProjects(ctx context.Context, s *scan, parent string) []*project {
	if id, ok := strings.CutPrefix(parent, "projects/"); ok {
		var p *crm.Project
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			p, err = c.crm.Projects.Get("projects/" + id).Context(ctx).Do()
			return err
		})
		if err != nil {
			c.fail(s, id, opGetProject, err, "project labels and number unknown")
			return []*project{s.addProject(&project{id: id})}
		}
		return []*project{s.addProject(crmToProject(p))}
	}
	var out []*project
	queue := []string{parent}
	for len(queue) > 0 && ctx.Err() == nil {
		par := queue[0]
		queue = queue[1:]
		err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
			resp, err := c.crm.Projects.List().Parent(par).PageSize(1000).PageToken(token).Context(ctx).Do()
			if err != nil {
				return "", err
			}
			for _, p := range resp.Projects {
				if p.State == "" || p.State == "ACTIVE" {
					out = append(out, s.addProject(crmToProject(p)))
				}
			}
			return resp.NextPageToken, nil
		})
		if err != nil {
			c.fail(s, gapScope(par), opListProjects, err, "projects under "+par+" not collected")
			s.markUnenumerated()
		}
		err = c.pages(ctx, func(ctx context.Context, token string) (string, error) {
			resp, err := c.crm.Folders.List().Parent(par).PageSize(1000).PageToken(token).Context(ctx).Do()
			if err != nil {
				return "", err
			}
			for _, f := range resp.Folders {
				if f.State == "" || f.State == "ACTIVE" {
					queue = append(queue, f.Name)
				}
			}
			return resp.NextPageToken, nil
		})
		if err != nil {
			c.fail(s, gapScope(par), opListFolders, err, "folders under "+par+" not walked")
			s.markUnenumerated()
		}
	}
	return out
}

func (s *scan) markUnenumerated() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unenumerated = true
}

func crmToProject(p *crm.Project) *project {
	return &project{id: p.ProjectId, number: strings.TrimPrefix(p.Name, "projects/"), name: p.DisplayName, labels: p.Labels, parent: p.Parent, described: true}
}

// fallbackAccounts lists a project's service accounts and keys through IAM.
func (c *Collector) fallbackAccounts(ctx context.Context, s *scan, p *project) {
	var sas []*iam.ServiceAccount
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.iam.Projects.ServiceAccounts.List("projects/" + p.id).PageSize(100).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		sas = append(sas, resp.Accounts...)
		return resp.NextPageToken, nil
	})
	if err != nil {
		c.fail(s, p.id, opListSAs, err, "")
		return
	}
	var keyErr error
	for _, sa := range sas {
		s.addAccount(sa)
		var resp *iam.ListServiceAccountKeysResponse
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			resp, err = c.iam.Projects.ServiceAccounts.Keys.List(sa.Name).Context(ctx).Do()
			return err
		})
		if err != nil {
			keyErr = err
			continue
		}
		for _, k := range resp.Keys {
			s.addKey(sa.UniqueId, k, true)
		}
	}
	s.mu.Lock()
	p.listed = true
	s.mu.Unlock()
	if keyErr != nil {
		c.fail(s, p.id, opListKeys, keyErr, "keys of some service accounts not collected")
	}
}

// fallbackPolicy reads a project's own IAM policy.
func (c *Collector) fallbackPolicy(ctx context.Context, s *scan, p *project) {
	var pol *crm.Policy
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		pol, err = c.crm.Projects.GetIamPolicy("projects/"+p.id, &crm.GetIamPolicyRequest{
			Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}).Context(ctx).Do()
		return err
	})
	if err != nil {
		c.fail(s, p.id, opProjectPolicy, err, "")
		return
	}
	s.mu.Lock()
	res := "//cloudresourcemanager.googleapis.com/projects/" + p.id
	if p.number != "" {
		res = "//cloudresourcemanager.googleapis.com/projects/" + p.number
	}
	s.mu.Unlock()
	var bs []binding
	for _, b := range pol.Bindings {
		cond := ""
		if b.Condition != nil {
			cond = b.Condition.Title
		}
		for _, m := range b.Members {
			bs = append(bs, binding{role: b.Role, member: m, condition: cond, project: "projects/" + p.id})
		}
	}
	s.addBindings(res, bs, anyCollected)
}
