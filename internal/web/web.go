// Package web serves the review page, where owners decide on the items of a
// recertification campaign in the browser, and the campaign owner's view
// (status, KPIs, overdue reviewers, escalations and the decision log).
//
// A reviewer arrives with the signed link of their campaign email: the
// link is checked (campaign.Signer), exchanged for a short-lived session
// cookie (HttpOnly, SameSite=Strict, Secure over https) and the browser
// goes on to a URL without the token. The session shows that reviewer's
// items in that campaign only, and every decision goes through
// campaign.Service (Decide, Bulk), which validates it and appends it to the
// audit log with the reviewer, the time and the client address. People may
// also sign in with OpenID Connect: campaign owners for their view, and,
// when configured, reviewers instead of links.
//
// Every page works without JavaScript (plain forms, POST-redirect-GET);
// the one script only adds conveniences. Pages are html/template; the
// Content-Security-Policy allows only this server's own stylesheet and
// script; state changes are guarded by http.CrossOriginProtection and the
// SameSite cookie; bad review links are rate-limited per client.
//
// The package decides nothing about campaigns (internal/campaign does),
// stores nothing but sessions in memory, and reads no clock (Config.Now).
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Campaigns is what the pages need of campaigns: campaign.Service's
// reviewer items, decisions and status, and the list of campaigns from the
// store.
type Campaigns interface {
	List(ctx context.Context) ([]campaign.Campaign, error)
	ReviewerItems(ctx context.Context, id int64, reviewer string) (campaign.Campaign, []campaign.Item, map[int]*campaign.Decision, error)
	Decide(ctx context.Context, id int64, ds []campaign.Decision) error
	Bulk(ctx context.Context, id int64, template campaign.Decision, itemIDs []int) error
	Status(ctx context.Context, id int64) (campaign.Status, error)
}

// Config configures a Server.
type Config struct {
	Campaigns Campaigns
	// Signer checks review links; nil accepts none (sign-in only).
	Signer *campaign.Signer
	// People are the catalog's people (by id): the names shown and the
	// persons an item can be reassigned to.
	People map[string]nhi.Person
	// TrustedProxies may name the client address (ClientAddr).
	TrustedProxies []netip.Prefix
	// Secure says the server is reached over https: cookies are Secure
	// (with the __Host- prefix) and responses carry HSTS.
	Secure bool
	// OIDC enables OpenID Connect sign-in; nil: links only, and no owner's
	// view.
	OIDC *OIDC
	Now  func() time.Time
	Log  *slog.Logger
}

// Server serves the pages. Create it with New.
type Server struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	secure   bool
	sessions *sessions
	limiter  *limiter
	pages    map[string]*template.Template
	oidc     *oidcClient
	static   http.Handler
}

// New builds a server. With OIDC configured it reads the provider's
// discovery document (ctx bounds that request).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Campaigns == nil {
		return nil, errors.New("web: no campaigns")
	}
	if cfg.Signer == nil && cfg.OIDC == nil {
		return nil, errors.New("web: neither a review-link key nor OpenID Connect sign-in is configured: nobody could open a page")
	}
	s := &Server{cfg: cfg, now: cfg.Now, log: cfg.Log, secure: cfg.Secure, sessions: newSessions(),
		limiter: newLimiter(rate.Every(badTokenInterval), badTokenBurst)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	s.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	if cfg.OIDC != nil {
		if s.oidc, err = newOIDC(ctx, cfg.OIDC, s.now); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Handler returns the server's handler: every route behind the security
// headers and cross-origin protection. Mount it at the root of a mux (the
// service mode adds its own paths beside it).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /review", s.review)
	mux.HandleFunc("POST /review/session", s.exchange)
	mux.HandleFunc("GET /review/{campaign}", s.reviewPage)
	mux.HandleFunc("GET /review/{campaign}/items/{item}", s.itemPage)
	mux.HandleFunc("POST /review/{campaign}/decide", s.decide)
	mux.HandleFunc("POST /review/{campaign}/bulk", s.bulk)
	mux.HandleFunc("GET /owner", s.ownerList)
	mux.HandleFunc("GET /owner/{campaign}", s.ownerCampaign)
	mux.HandleFunc("GET /auth/login", s.login)
	mux.HandleFunc("GET /auth/callback", s.callback)
	mux.HandleFunc("POST /auth/logout", s.logout)
	mux.Handle("GET /static/", s.static)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.message(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "path", r.URL.Path, "client", ClientAddr(r, s.cfg.TrustedProxies).String())
		s.message(w, r, http.StatusForbidden, "Refused", "This form was sent from another site. Open the review page itself and decide there.")
	}))
	return s.headers(cop.Handler(mux))
}

// pages are the page templates, each with the layout and the partials.
var pageNames = []string{"message.html", "review.html", "campaigns.html", "landing.html", "owner.html", "owner_campaign.html"}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/item.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// pair hands two values to a sub-template.
type pair struct{ A, B any }

var funcs = template.FuncMap{
	"pair": func(a, b any) pair { return pair{a, b} },
	"hasChoice": func(cs []choice, v string) bool {
		return slices.ContainsFunc(cs, func(c choice) bool { return c.Value == v })
	},
	"sub": func(a, b int) int { return a - b },
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"percent": func(part, whole int) int {
		if whole == 0 {
			return 100
		}
		return part * 100 / whole
	},
}

// page is what the layout shows around a page's content.
type page struct {
	Title string
	// Who is the signed-in person; Owner and Reviewer what they may open.
	Who      string
	Owner    bool
	Reviewer bool
	SignIn   bool
	Flash    *flash
	// Refresh moves the browser on to a same-site URL (after a
	// cross-site navigation, so the SameSite=Strict cookie is sent).
	Refresh string
	Data    any
}

// render executes a page into a buffer, then writes it with the status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if se := s.session(r); se != nil && p.Who == "" {
		p.Who, p.Owner, p.Reviewer = se.who(), se.owner, se.reviewer != ""
	}
	p.SignIn = s.oidc != nil && p.Who == ""
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// messageData is a page that only says something.
type messageData struct {
	Heading string
	Text    []string
	// Action is a link to go on with.
	Action, ActionLabel string
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, heading string, text ...string) {
	s.render(w, r, status, "message.html", page{Title: heading, Data: messageData{Heading: heading, Text: text}})
}

func (se *session) who() string {
	if se.reviewer != "" {
		return se.reviewer
	}
	return se.email
}

// home sends a visitor to what they may open.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	se := s.session(r)
	switch {
	case se != nil && se.reviewer != "":
		http.Redirect(w, r, "/review", http.StatusSeeOther)
	case se != nil && se.owner:
		http.Redirect(w, r, "/owner", http.StatusSeeOther)
	default:
		lines := []string{"Reviewers: open the link in your review email."}
		if s.oidc != nil {
			lines = append(lines, "Campaign owners (and reviewers, where sign-in is enabled) can sign in.")
		}
		s.render(w, r, http.StatusOK, "message.html", page{Title: "nhiscan review", Data: messageData{Heading: "nhiscan review", Text: lines}})
	}
}

// pathID reads a positive integer path value.
func pathID(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n, err == nil && n > 0
}

// Service adapts campaign.Service and the store's list of campaigns to
// Campaigns.
type Service struct {
	*campaign.Service
	Lister interface {
		Campaigns(ctx context.Context) ([]campaign.Campaign, error)
	}
}

// List lists the campaigns.
func (s Service) List(ctx context.Context) ([]campaign.Campaign, error) {
	return s.Lister.Campaigns(ctx)
}
