package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDC configures OpenID Connect sign-in (authorization code flow with
// PKCE and a nonce).
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// AllowedOwners may open the owner's view (verified email addresses).
	AllowedOwners []string
	// Reviewers may sign in instead of following their link.
	Reviewers bool
	// HTTPClient reaches the provider (discovery, keys, tokens);
	// http.DefaultClient when nil.
	HTTPClient *http.Client
}

// loginTTL bounds the time between starting a sign-in and coming back.
const loginTTL = 10 * time.Minute

// maxPending bounds the sign-ins under way.
const maxPending = 10000

type oidcClient struct {
	cfg      OIDC
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client

	mu      sync.Mutex
	pending map[string]pendingLogin
}

// pendingLogin is a sign-in under way, keyed by its state parameter.
type pendingLogin struct {
	nonce, verifier, binding, next string
	expires                        time.Time
}

func newOIDC(ctx context.Context, cfg *OIDC, now func() time.Time) (*oidcClient, error) {
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery of %s: %w", cfg.Issuer, err)
	}
	c := &oidcClient{cfg: *cfg, client: client, pending: map[string]pendingLogin{},
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: now}),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
	for i, o := range c.cfg.AllowedOwners {
		c.cfg.AllowedOwners[i] = strings.ToLower(o)
	}
	return c, nil
}

// loginCookie binds a sign-in to the browser that started it. It is Lax:
// the provider's redirect back is a cross-site navigation.
func (s *Server) loginCookie() string {
	if s.secure {
		return "__Host-nhiscan_login"
	}
	return "nhiscan_login"
}

// nextPath is what a next= target may be: a page of this server's review
// or owner's view, in plain characters (no scheme, host, "//", escapes or
// white space a browser would strip into another meaning).
var nextPath = regexp.MustCompile(`^/(owner|review)(/[A-Za-z0-9_-]+)*$`)

// localPath keeps a next= target on this server, or drops it.
func localPath(p string) string {
	if !nextPath.MatchString(p) {
		return ""
	}
	return p
}

// login is GET /auth/login: it sends the browser to the provider.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.message(w, r, http.StatusNotFound, "Sign-in is not configured", "This server has no OpenID Connect provider (serve.oidc).")
		return
	}
	now := s.now()
	pl := pendingLogin{nonce: randomID(), verifier: oauth2.GenerateVerifier(), binding: randomID(),
		next: localPath(r.URL.Query().Get("next")), expires: now.Add(loginTTL)}
	state := randomID()
	s.oidc.mu.Lock()
	if len(s.oidc.pending) >= maxPending {
		for k, p := range s.oidc.pending {
			if !now.Before(p.expires) {
				delete(s.oidc.pending, k)
			}
		}
	}
	full := len(s.oidc.pending) >= maxPending
	if !full {
		s.oidc.pending[state] = pl
	}
	s.oidc.mu.Unlock()
	if full {
		s.message(w, r, http.StatusServiceUnavailable, "Too many sign-ins under way", "Try again in a few minutes.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.loginCookie(), Value: pl.binding, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(loginTTL.Seconds())})
	http.Redirect(w, r, s.oidc.oauth.AuthCodeURL(state, oidc.Nonce(pl.nonce), oauth2.S256ChallengeOption(pl.verifier)), http.StatusFound)
}

// take returns and forgets the pending sign-in of a state.
func (c *oidcClient) take(state string, now time.Time) (pendingLogin, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pending[state]
	delete(c.pending, state)
	return p, ok && now.Before(p.expires)
}

// claims are the ID token claims sign-in reads.
type claims struct {
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
}

// callback is GET /auth/callback: the provider's answer. The state must
// be one this server issued to this browser, the code is exchanged with the
// PKCE verifier, and the ID token must verify (signature, issuer, audience,
// expiry) and carry the nonce and a verified email.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.message(w, r, http.StatusNotFound, "Sign-in is not configured", "This server has no OpenID Connect provider (serve.oidc).")
		return
	}
	now := s.now()
	client := ClientAddr(r, s.cfg.TrustedProxies)
	if s.limiter.blocked(client, now) {
		w.Header().Set("Retry-After", strconv.Itoa(int(badTokenInterval.Seconds())))
		s.message(w, r, http.StatusTooManyRequests, "Too many failed sign-ins", "Wait a minute, then sign in again.")
		return
	}
	q := r.URL.Query()
	pl, ok := s.oidc.take(q.Get("state"), now)
	bind, err := r.Cookie(s.loginCookie())
	if !ok || err != nil || subtle.ConstantTimeCompare([]byte(bind.Value), []byte(pl.binding)) != 1 {
		s.limiter.fail(client, now)
		s.message(w, r, http.StatusBadRequest, "Sign-in failed", "This sign-in was not started here, or took too long. Start again.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.loginCookie(), Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if e := q.Get("error"); e != "" {
		s.message(w, r, http.StatusForbidden, "Sign-in refused", "The identity provider answered: "+text(e)+".")
		return
	}
	cl, err := s.oidc.exchange(r.Context(), q.Get("code"), pl)
	if err != nil {
		s.limiter.fail(client, now)
		s.log.Warn("oidc sign-in failed", "err", err, "client", client.String())
		s.message(w, r, http.StatusForbidden, "Sign-in failed", "The identity provider's answer did not verify. Start again.")
		return
	}
	s.signedIn(w, r, cl, pl.next, now)
}

// exchange trades the code for tokens and verifies the ID token.
func (c *oidcClient) exchange(ctx context.Context, code string, pl pendingLogin) (claims, error) {
	ctx = oidc.ClientContext(ctx, c.client)
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		return claims{}, fmt.Errorf("token exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return claims{}, fmt.Errorf("token response has no id_token")
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return claims{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pl.nonce)) != 1 {
		return claims{}, fmt.Errorf("id token nonce does not match")
	}
	var cl claims
	if err := idt.Claims(&cl); err != nil {
		return claims{}, err
	}
	cl.Email = strings.ToLower(strings.TrimSpace(cl.Email))
	return cl, nil
}

// signedIn opens the session of a verified person and moves the browser
// on (through a same-site refresh: the Strict cookie is not sent on the
// provider's cross-site redirect chain).
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, cl claims, next string, now time.Time) {
	if cl.Email == "" || !cl.EmailVerified {
		s.message(w, r, http.StatusForbidden, "Sign-in refused", "The identity provider did not give a verified email address.")
		return
	}
	se := session{email: cl.Email, via: "oidc", owner: slices.Contains(s.oidc.cfg.AllowedOwners, cl.Email)}
	if s.oidc.cfg.Reviewers {
		se.reviewer = cl.Email
	}
	if !se.owner && se.reviewer == "" {
		s.log.Warn("oidc sign-in of a person who may open nothing", "email", cl.Email)
		s.message(w, r, http.StatusForbidden, "Not allowed",
			"You are signed in as "+text(cl.Email)+", who is neither a campaign owner nor (here) a reviewer.")
		return
	}
	p := s.sessions.create(se, now)
	s.setSessionCookie(w, p, now)
	s.log.Info("signed in", "email", cl.Email, "owner", se.owner, "client", ClientAddr(r, s.cfg.TrustedProxies).String())
	switch {
	case next != "":
	case se.owner:
		next = "/owner"
	default:
		next = "/review"
	}
	s.render(w, r, http.StatusOK, "message.html", page{Title: "Signed in", Refresh: next, Who: cl.Email, Owner: se.owner, Reviewer: se.reviewer != "",
		Data: messageData{Heading: "Signed in", Text: []string{"You are signed in as " + text(cl.Email) + "."}, Action: next, ActionLabel: "Continue"}})
}

// logout is POST /auth/logout: the session ends.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookieName()); err == nil {
		s.sessions.delete(c.Value)
	}
	s.clearSessionCookie(w)
	s.render(w, r, http.StatusOK, "message.html", page{Title: "Signed out",
		Data: messageData{Heading: "Signed out", Text: []string{"Your session has ended. Open your review link again to come back."}}})
}

// reviewerCampaigns lists the campaigns in which a signed-in reviewer
// holds items.
func (s *Server) reviewerCampaigns(w http.ResponseWriter, r *http.Request, se *session) {
	all, err := s.cfg.Campaigns.List(r.Context())
	if err != nil {
		s.fail(w, r, "list campaigns", err)
		return
	}
	now := s.now()
	type row struct {
		Campaign    campaignView
		Items, Open int
	}
	var rows []row
	for i := range all {
		c := &all[i]
		if c.State != "open" {
			continue
		}
		_, items, last, err := s.cfg.Campaigns.ReviewerItems(r.Context(), c.ID, se.reviewer)
		if err != nil {
			s.fail(w, r, "read reviewer items", err)
			return
		}
		if len(items) == 0 {
			continue
		}
		rw := row{Campaign: newCampaignView(c, now), Items: len(items)}
		for _, g := range groups(items, last, se.reviewer, now) {
			rw.Open += g.Open
		}
		rows = append(rows, rw)
	}
	s.render(w, r, http.StatusOK, "campaigns.html", page{Title: "Your reviews", Data: rows})
}
