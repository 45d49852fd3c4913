package gcpfake

import (
	"net/http"
	"strconv"

	storage "google.golang.org/api/storage/v1"
)

// listHMACKeys answers storage.projects.hmacKeys.list: the metadata of a
// project's HMAC keys (never their secret), DELETED ones only with
// showDeletedKeys, paged by maxResults (at most 250).
func (s *Server) listHMACKeys(r *http.Request, proj string) (any, *apiError) {
	p := s.project(proj)
	if p == nil {
		return nil, notFound("project " + proj)
	}
	q := r.URL.Query()
	deleted, _ := strconv.ParseBool(q.Get("showDeletedKeys"))
	email := q.Get("serviceAccountEmail")
	var keys []HMACKey
	for _, k := range p.HMACKeys {
		if (k.State != "DELETED" || deleted) && (email == "" || email == k.ServiceAccountEmail) {
			keys = append(keys, k)
		}
	}
	size, _ := strconv.Atoi(q.Get("maxResults"))
	if size <= 0 || size > 250 {
		size = 250
	}
	if c := s.PageSize(); c > 0 && size > c {
		size = c
	}
	from, to, next, e := page(r, len(keys), size)
	if e != nil {
		return nil, e
	}
	out := &storage.HmacKeysMetadata{Kind: "storage#hmacKeysMetadata", NextPageToken: next, Items: []*storage.HmacKeyMetadata{}}
	for _, k := range keys[from:to] {
		out.Items = append(out.Items, &storage.HmacKeyMetadata{
			Kind: "storage#hmacKeyMetadata", Id: p.ID + "/" + k.AccessID, AccessId: k.AccessID, ProjectId: p.ID,
			SelfLink:            "https://www.googleapis.com/storage/v1/projects/" + p.ID + "/hmacKeys/" + k.AccessID,
			ServiceAccountEmail: k.ServiceAccountEmail, State: k.State, TimeCreated: ts(k.Created), Updated: ts(k.Updated),
			Etag: "CAE=",
		})
	}
	return out, nil
}
