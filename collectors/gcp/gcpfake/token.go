package gcpfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
)

// tokenPath is the fake's OAuth 2.0 token endpoint: point a service
// account key file's token_uri at URL + "/token".
const tokenPath = "token"

// TokenURI returns the fake's OAuth 2.0 token endpoint.
func (s *Server) TokenURI() string { return s.URL + "/" + tokenPath }

type tokenEndpoint struct {
	refuse     bool
	assertions []string
	issued     []string
	n          int
}

// RefuseTokens makes the token endpoint answer 400 invalid_grant, and echo
// the signed assertion it was sent in its error description, as Google's
// endpoint does for a JWT it cannot verify.
func (s *Server) RefuseTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens.refuse = on
}

// SetErrorEcho plants v in every error the APIs answer: in the message
// and in a DebugInfo detail, as Google repeats parts of a request in its
// errors. Tests use it to prove that error bodies never reach an
// inventory, a log line or an error string.
func (s *Server) SetErrorEcho(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errorEcho = v
}

// TokenSecrets returns every signed assertion the token endpoint received
// and every access token it issued: none may appear in an inventory, a
// log line or an error.
func (s *Server) TokenSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append(append([]string(nil), s.tokens.assertions...), s.tokens.issued...)
	sort.Strings(out)
	return out
}

// serveToken answers the JWT bearer grant (RFC 7523) a service account key
// makes: an access token, or 400 invalid_grant with the assertion echoed.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad token request", http.StatusBadRequest)
		return
	}
	assertion := r.PostForm.Get("assertion")
	s.mu.Lock()
	if assertion != "" {
		s.tokens.assertions = append(s.tokens.assertions, assertion)
	}
	refuse := s.tokens.refuse
	s.tokens.n++
	token := fmt.Sprintf("ya29.fake-access-token-%04d", s.tokens.n)
	if !refuse {
		s.tokens.issued = append(s.tokens.issued, token)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if refuse {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant",
			"error_description": "Invalid JWT Signature. Received assertion: " + assertion})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
}
