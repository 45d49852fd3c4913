package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Session lifetimes: a session ends after an hour without a request, and
// at the latest after twelve hours (or when the review link it was made
// from expires, if that is sooner).
const (
	sessionIdle = time.Hour
	sessionMax  = 12 * time.Hour
	// maxSessions bounds the sessions kept in memory.
	maxSessions = 10000
)

// session is one signed-in browser: a reviewer from a review link (one
// campaign), or a person signed in with OpenID Connect (a reviewer in every
// campaign, and the owner's view when allowed).
type session struct {
	id string
	// reviewer is the person whose items the session shows ("" when the
	// session may not review: an owner signed in without reviewers on).
	reviewer string
	// campaign limits a link's session to its campaign; 0 for a signed-in
	// reviewer.
	campaign int64
	// owner may open the campaign owner's view.
	owner bool
	// email is who signed in with OpenID Connect ("" for a link).
	email string
	// via is "link" or "oidc".
	via      string
	expires  time.Time
	lastSeen time.Time
	// flash is shown once, on the next page (the result of a decision).
	flash *flash
}

// flash is a one-time message after a POST-redirect-GET.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

// sessions keeps sessions in memory: a restart signs everyone out (a
// reviewer opens their link again).
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
}

func newSessions() *sessions { return &sessions{byID: map[string]*session{}} }

// create stores a new session valid from now until at most expires.
func (ss *sessions) create(s session, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= maxSessions {
		ss.prune(now)
	}
	s.id = randomID()
	s.lastSeen = now
	if limit := now.Add(sessionMax); s.expires.IsZero() || s.expires.After(limit) {
		s.expires = limit
	}
	p := &s
	ss.byID[s.id] = p
	return p
}

// get returns the live session with the id, touching it; nil when there is
// none or it expired.
func (ss *sessions) get(id string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s == nil {
		return nil
	}
	if !now.Before(s.expires) || now.Sub(s.lastSeen) >= sessionIdle {
		delete(ss.byID, id)
		return nil
	}
	s.lastSeen = now
	return s
}

// takeFlash returns and clears the session's flash.
func (ss *sessions) takeFlash(s *session) *flash {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

func (ss *sessions) setFlash(s *session, f *flash) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s.flash = f
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// prune drops expired and idle sessions and, if still full, the one idle
// longest.
func (ss *sessions) prune(now time.Time) {
	var oldest *session
	for id, s := range ss.byID {
		if !now.Before(s.expires) || now.Sub(s.lastSeen) >= sessionIdle {
			delete(ss.byID, id)
			continue
		}
		if oldest == nil || s.lastSeen.Before(oldest.lastSeen) {
			oldest = s
		}
	}
	if len(ss.byID) >= maxSessions && oldest != nil {
		delete(ss.byID, oldest.id)
	}
}

// randomID is 256 random bits, URL-safe.
func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookieName is the session cookie's name: with the __Host- prefix when
// cookies are Secure (the browser then refuses it from plain http, another
// host or another path).
func (s *Server) cookieName() string {
	if s.secure {
		return "__Host-nhiscan_session"
	}
	return "nhiscan_session"
}

// setSessionCookie sends the session cookie: HttpOnly, SameSite=Strict,
// Secure when the server is reached over https, for the whole site, until
// the session's end.
func (s *Server) setSessionCookie(w http.ResponseWriter, se *session, now time.Time) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: se.id, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(se.expires.Sub(now).Seconds())})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// session returns the request's live session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return nil
	}
	return s.sessions.get(c.Value, s.now())
}
