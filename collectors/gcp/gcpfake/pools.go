package gcpfake

import (
	"net/http"

	iam "google.golang.org/api/iam/v1"
)

// listPools answers iam.projects.locations.workloadIdentityPools.list.
// Names carry the project number, as IAM's do.
func (s *Server) listPools(r *http.Request, proj string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	from, to, next, e := page(r, len(p.Pools), s.pageSize(r, 50, 1000))
	if e != nil {
		return nil, e
	}
	out := &iam.ListWorkloadIdentityPoolsResponse{NextPageToken: next, WorkloadIdentityPools: []*iam.WorkloadIdentityPool{}}
	for _, pool := range p.Pools[from:to] {
		out.WorkloadIdentityPools = append(out.WorkloadIdentityPools, &iam.WorkloadIdentityPool{
			Name: poolName(p, pool.ID), DisplayName: pool.DisplayName, Disabled: pool.Disabled, State: "ACTIVE", Mode: "FEDERATION_ONLY"})
	}
	return out, nil
}

func poolName(p *Project, pool string) string {
	return "projects/" + p.Number + "/locations/global/workloadIdentityPools/" + pool
}

// listProviders answers iam.projects.locations.workloadIdentityPools.providers.list.
func (s *Server) listProviders(r *http.Request, proj, poolID string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	var pool *Pool
	for i := range p.Pools {
		if p.Pools[i].ID == poolID {
			pool = &p.Pools[i]
		}
	}
	if pool == nil {
		return nil, notFound("workload identity pool " + poolID)
	}
	from, to, next, e := page(r, len(pool.Providers), s.pageSize(r, 50, 100))
	if e != nil {
		return nil, e
	}
	out := &iam.ListWorkloadIdentityPoolProvidersResponse{NextPageToken: next, WorkloadIdentityPoolProviders: []*iam.WorkloadIdentityPoolProvider{}}
	for _, pr := range pool.Providers[from:to] {
		wp := &iam.WorkloadIdentityPoolProvider{Name: poolName(p, poolID) + "/providers/" + pr.ID, DisplayName: pr.DisplayName,
			Disabled: pr.Disabled, State: "ACTIVE", AttributeCondition: pr.AttributeCondition, AttributeMapping: pr.AttributeMapping}
		switch {
		case pr.IssuerURI != "":
			wp.Oidc = &iam.Oidc{IssuerUri: pr.IssuerURI, AllowedAudiences: pr.AllowedAudiences}
		case pr.AWSAccountID != "":
			wp.Aws = &iam.Aws{AccountId: pr.AWSAccountID}
		case pr.SAML:
			wp.Saml = &iam.Saml{IdpMetadataXml: "<EntityDescriptor entityID=\"https://idp.example\"/>"}
		}
		out.WorkloadIdentityPoolProviders = append(out.WorkloadIdentityPoolProviders, wp)
	}
	return out, nil
}
