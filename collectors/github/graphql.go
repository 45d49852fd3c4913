package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v89/github"

	"github.com/nhiscan/nhiscan/collectors"
)

const deployKeyQuery = `query($org: String!, $cursor: String) {
  organization(login: $org) {
    repositories(first: 100, after: $cursor, orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId name nameWithOwner isArchived
        deployKeys(first: 1) { totalCount }
        environments(first: 100) { totalCount nodes { databaseId name } }
      }
    }
  }
}`

// gqlPage is one answer to deployKeyQuery.
type gqlPage struct {
	Data struct {
		Organization *struct {
			Repositories struct {
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
				Nodes []gqlRepo `json:"nodes"`
			} `json:"repositories"`
		} `json:"organization"`
	} `json:"data"`
	Errors []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"errors"`
}

// graphQLRepos learns, 100 repositories a query, which repositories have
// deploy keys and which environments each has. Its paging must advance as
// a REST list's must (see list): a page whose end cursor is the one sent,
// or that brings no repository not seen before, stops it with errPaging.
func (a *api) graphQLRepos(ctx context.Context, cl *gh.Client, org string) (map[int64]gqlRepo, error) {
	out := map[int64]gqlRepo{}
	var cursor *string
	for page := 1; ; page++ {
		var res gqlPage
		body := map[string]any{"query": deployKeyQuery, "variables": map[string]any{"org": org, "cursor": cursor}}
		if _, err := a.call(ctx, cl, http.MethodPost, a.graphql, body, &res); err != nil {
			return out, err
		}
		if err := res.err(org); err != nil {
			return out, err
		}
		fresh := 0
		for _, n := range res.Data.Organization.Repositories.Nodes {
			if _, seen := out[n.DatabaseID]; !seen && n.DatabaseID > 0 {
				out[n.DatabaseID] = n
				fresh++
			}
		}
		pi := res.Data.Organization.Repositories.PageInfo
		switch {
		case !pi.HasNextPage:
			return out, nil
		case pi.EndCursor == "" || cursor != nil && pi.EndCursor == *cursor:
			return out, fmt.Errorf("graphql: page %d does not advance its cursor: %w", page, errPaging)
		case fresh == 0:
			return out, fmt.Errorf("graphql: page %d brought no repository not seen before: %w", page, errPaging)
		case page >= a.cfg.MaxPages:
			return out, fmt.Errorf("graphql: more than %d pages: %w", a.cfg.MaxPages, errPaging)
		}
		cur := pi.EndCursor
		cursor = &cur
	}
}

// err translates GraphQL's errors, which come with status 200.
func (p *gqlPage) err(org string) error {
	if len(p.Errors) > 0 {
		e := p.Errors[0]
		switch e.Type {
		case "FORBIDDEN", "INSUFFICIENT_SCOPES", "NOT_FOUND":
			return fmt.Errorf("graphql %s: %s: %w", strings.ToLower(e.Type), shortMessage(e.Message), collectors.ErrDenied)
		case "RATE_LIMITED":
			return fmt.Errorf("graphql: %s: %w", shortMessage(e.Message), collectors.ErrThrottled)
		}
		return fmt.Errorf("graphql: %s", shortMessage(e.Message))
	}
	if p.Data.Organization == nil {
		return fmt.Errorf("graphql: organization %s: %w", org, collectors.ErrNotFound)
	}
	return nil
}
