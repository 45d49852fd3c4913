// Package oidctest runs an in-process OpenID Connect provider for tests and
// the demo, the way net/http/httptest runs an HTTP server: discovery, a
// JSON Web Key Set, an authorization endpoint that signs the configured
// person in at once, and a token endpoint that checks the client, the
// redirect URI and the PKCE verifier and returns an ID token signed with a
// key made at start (RS256, via go-jose). It never talks to anything else.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Options configure a provider.
type Options struct {
	// ClientID and ClientSecret are the one client registered; an empty
	// secret makes it a public client.
	ClientID, ClientSecret string
	// RedirectURL is the one redirect URI registered.
	RedirectURL string
	// Email is who signs in; EmailVerified whether the provider vouches
	// for the address. Name is their display name.
	Email         string
	EmailVerified bool
	Name          string
	// Host names the server in its URLs (default 127.0.0.1; "localhost"
	// makes it another site than a server on 127.0.0.1).
	Host string
	// Now is the provider's clock (default time.Now).
	Now func() time.Time
	// Claims, when set, may change an ID token's claims before signing
	// (tests of a bad audience, nonce or expiry).
	Claims func(map[string]any)
}

// Provider is a running provider.
type Provider struct {
	// Issuer is the provider's issuer URL (its base URL).
	Issuer string

	opt  Options
	srv  *httptest.Server
	key  *rsa.PrivateKey
	kid  string
	mu   sync.Mutex
	code map[string]grant
	// Tokens counts the ID tokens issued.
	tokens int
}

// grant is an authorization code and what it was issued for.
type grant struct {
	redirect, challenge, nonce string
	expires                    time.Time
}

// New starts a provider. Close it when done.
func New(opt Options) (*Provider, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Host == "" {
		opt.Host = "127.0.0.1"
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oidctest: key: %w", err)
	}
	p := &Provider{opt: opt, key: key, kid: "oidctest-1", code: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	_, port, _ := net.SplitHostPort(p.srv.Listener.Addr().String())
	p.Issuer = "http://" + net.JoinHostPort(opt.Host, port)
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() { p.srv.Close() }

// Client is an HTTP client that reaches the provider.
func (p *Provider) Client() *http.Client { return p.srv.Client() }

// Tokens counts the ID tokens issued so far.
func (p *Provider) Tokens() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// SetEmail changes who signs in next.
func (p *Provider) SetEmail(email string, verified bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opt.Email, p.opt.EmailVerified = email, verified
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": p.Issuer, "authorization_endpoint": p.Issuer + "/authorize", "token_endpoint": p.Issuer + "/token",
		"jwks_uri": p.Issuer + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "scopes_supported": []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: "RS256", Use: "sig"}}})
}

// authorize signs the configured person in at once and sends the browser
// back with a code, after checking the request as a provider would.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != p.opt.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != p.opt.RedirectURL:
		http.Error(w, "redirect_uri is not registered", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(p.opt.RedirectURL)
	v := url.Values{"state": {q.Get("state")}}
	switch {
	case q.Get("response_type") != "code":
		v.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		v.Set("error", "invalid_request")
	default:
		code := randomString()
		p.mu.Lock()
		p.code[code] = grant{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), expires: p.opt.Now().Add(time.Minute)}
		p.mu.Unlock()
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code for an ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.opt.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.opt.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	g, ok := p.code[r.PostForm.Get("code")]
	delete(p.code, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code" || !ok || !p.opt.Now().Before(g.expires) || r.PostForm.Get("redirect_uri") != g.redirect:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	idt, err := p.idToken(g.nonce)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 300, "id_token": idt})
}

func (p *Provider) idToken(nonce string) (string, error) {
	p.mu.Lock()
	now := p.opt.Now()
	c := map[string]any{"iss": p.Issuer, "sub": "sub-" + p.opt.Email, "aud": p.opt.ClientID, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": nonce, "email": p.opt.Email, "email_verified": p.opt.EmailVerified}
	if p.opt.Name != "" {
		c["name"] = p.opt.Name
	}
	p.tokens++
	p.mu.Unlock()
	if p.opt.Claims != nil {
		p.opt.Claims(c)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Port is the provider's port.
func (p *Provider) Port() int {
	_, port, _ := net.SplitHostPort(p.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	return n
}
