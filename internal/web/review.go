package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

// maxForm bounds a submitted form.
const maxForm = 64 << 10

// review is GET /review: with ?t= it checks a review link and offers to
// open it; otherwise it sends a session on to its campaign, or lists a
// signed-in reviewer's campaigns.
func (s *Server) review(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("t"); tok != "" {
		s.landing(w, r, tok)
		return
	}
	se := s.session(r)
	switch {
	case se == nil || se.reviewer == "":
		s.noSession(w, r)
	case se.campaign != 0:
		http.Redirect(w, r, fmt.Sprintf("/review/%d", se.campaign), http.StatusSeeOther)
	default:
		s.reviewerCampaigns(w, r, se)
	}
}

func (s *Server) noSession(w http.ResponseWriter, r *http.Request) {
	text := []string{"Open the link in your latest review email again. A session ends after an hour without activity."}
	if s.oidc != nil && s.oidc.cfg.Reviewers {
		text = append(text, "You can also sign in.")
	}
	s.message(w, r, http.StatusUnauthorized, "Your review session has ended", text...)
}

// verify checks a review link for the client: refused outright while the
// client is rate-limited; a bad or expired link counts against it.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, tok string) (campaign.Claims, bool) {
	client := ClientAddr(r, s.cfg.TrustedProxies)
	now := s.now()
	if s.limiter.blocked(client, now) {
		w.Header().Set("Retry-After", strconv.Itoa(int(badTokenInterval.Seconds())))
		s.message(w, r, http.StatusTooManyRequests, "Too many bad links",
			"This address presented too many links that are not valid. Wait a minute, then open the link from your latest review email.")
		return campaign.Claims{}, false
	}
	if s.cfg.Signer == nil {
		s.limiter.fail(client, now)
		s.message(w, r, http.StatusForbidden, "Links are not accepted here", "This server accepts sign-in only.")
		return campaign.Claims{}, false
	}
	c, err := s.cfg.Signer.Verify(tok, now)
	switch {
	case errors.Is(err, campaign.ErrLinkExpired):
		s.limiter.fail(client, now)
		s.log.Info("expired review link", "campaign", c.CampaignID, "reviewer", c.Reviewer, "client", client.String())
		s.message(w, r, http.StatusGone, "This link has expired",
			fmt.Sprintf("The link expired on %s. The next reminder brings a new one; or ask the campaign owner.", stamp(c.Expires)))
		return campaign.Claims{}, false
	case err != nil:
		s.limiter.fail(client, now)
		s.log.Warn("bad review link", "client", client.String())
		s.message(w, r, http.StatusForbidden, "This link is not valid",
			"Open the link exactly as it is in your review email. A link is personal: it works for its reviewer and campaign only.")
		return campaign.Claims{}, false
	}
	return c, true
}

// landingData is the page a review link opens: whose review it is, and a
// button that exchanges the link for a session.
type landingData struct {
	Token    string
	Reviewer string
	Campaign string
	Expires  string
}

// landing shows a checked link's reviewer and campaign with one button:
// the link becomes a session only on a same-site POST, so another site
// cannot sign a browser in with someone else's link.
func (s *Server) landing(w http.ResponseWriter, r *http.Request, tok string) {
	c, ok := s.verify(w, r, tok)
	if !ok {
		return
	}
	name := fmt.Sprintf("campaign %d", c.CampaignID)
	if all, err := s.cfg.Campaigns.List(r.Context()); err == nil {
		for _, x := range all {
			if x.ID == c.CampaignID && x.Name != "" {
				name = text(x.Name)
			}
		}
	}
	s.render(w, r, http.StatusOK, "landing.html", page{Title: "Open your review",
		Data: landingData{Token: tok, Reviewer: text(c.Reviewer), Campaign: name, Expires: stamp(c.Expires)}})
}

// exchange is POST /review/session: the link's token becomes a session
// cookie, and the browser goes on to the campaign's page without it.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	c, ok := s.verify(w, r, r.PostForm.Get("t"))
	if !ok {
		return
	}
	now := s.now()
	se := s.sessions.create(session{reviewer: strings.ToLower(c.Reviewer), campaign: c.CampaignID, via: "link", expires: c.Expires}, now)
	s.setSessionCookie(w, se, now)
	s.log.Info("review session opened", "campaign", c.CampaignID, "reviewer", se.reviewer, "client", ClientAddr(r, s.cfg.TrustedProxies).String())
	http.Redirect(w, r, fmt.Sprintf("/review/%d", c.CampaignID), http.StatusSeeOther)
}

// reviewer returns the session and campaign of a review route, or writes
// the refusal: no session, a session without a reviewer, or a campaign the
// session does not cover (not found, whether it exists or not).
func (s *Server) reviewer(w http.ResponseWriter, r *http.Request) (*session, int64, bool) {
	se := s.session(r)
	if se == nil || se.reviewer == "" {
		s.noSession(w, r)
		return nil, 0, false
	}
	id, ok := pathID(r, "campaign")
	if ok && se.campaign == 0 {
		ok = s.campaignExists(r, id)
	}
	if !ok || (se.campaign != 0 && se.campaign != id) {
		s.notYours(w, r, se)
		return nil, 0, false
	}
	return se, id, true
}

func (s *Server) campaignExists(r *http.Request, id int64) bool {
	all, err := s.cfg.Campaigns.List(r.Context())
	return err == nil && slices.ContainsFunc(all, func(c campaign.Campaign) bool { return c.ID == id })
}

// notYours refuses a campaign or item the session does not hold, the same
// way whether it exists or not.
func (s *Server) notYours(w http.ResponseWriter, r *http.Request, se *session) {
	s.log.Warn("review page: not the session's", "path", r.URL.Path, "reviewer", se.reviewer,
		"client", ClientAddr(r, s.cfg.TrustedProxies).String())
	s.message(w, r, http.StatusNotFound, "Not found", "There is no such item among yours. Your link shows your own items only.")
}

// reviewData is the review page.
type reviewData struct {
	Campaign   campaignView
	Reviewer   string
	Open       []*group
	Done       []*group
	Total      int
	Decided    int
	OpenItems  int
	People     []person
	CanDecide  bool
	Single     bool
	Bulk       formValues
	BulkError  string
	BulkChosen map[int]bool
}

type campaignView struct {
	ID       int64
	Name     string
	State    string
	Deadline string
	Due      string
	Overdue  bool
}

func newCampaignView(c *campaign.Campaign, now time.Time) campaignView {
	v := campaignView{ID: c.ID, Name: text(c.Name), State: string(c.State), Deadline: day(c.Deadline), Overdue: !now.Before(c.Deadline)}
	if v.Name == "" {
		v.Name = fmt.Sprintf("Campaign %d", c.ID)
	}
	switch left := c.Deadline.Sub(now); {
	case left <= 0:
		v.Due = "the deadline has passed"
	case left < 48*time.Hour:
		v.Due = fmt.Sprintf("%d hour(s) left", int(left.Hours()))
	default:
		v.Due = fmt.Sprintf("%d days left", int(left.Hours()/24))
	}
	return v
}

// refused carries a refused form back onto the page.
type refused struct {
	item   int
	values formValues
	err    string
	bulk   bool
	chosen []int
}

func (s *Server) reviewPage(w http.ResponseWriter, r *http.Request) {
	se, id, ok := s.reviewer(w, r)
	if !ok {
		return
	}
	s.showReview(w, r, se, id, 0, http.StatusOK, nil)
}

func (s *Server) itemPage(w http.ResponseWriter, r *http.Request) {
	se, id, ok := s.reviewer(w, r)
	if !ok {
		return
	}
	n, ok := pathID(r, "item")
	if !ok {
		s.notYours(w, r, se)
		return
	}
	s.showReview(w, r, se, id, int(n), http.StatusOK, nil)
}

// showReview renders the reviewer's page (only item `only` when set), with
// a refused form when there is one.
func (s *Server) showReview(w http.ResponseWriter, r *http.Request, se *session, id int64, only, status int, ref *refused) {
	c, items, last, err := s.cfg.Campaigns.ReviewerItems(r.Context(), id, se.reviewer)
	if err != nil {
		s.fail(w, r, "read reviewer items", err)
		return
	}
	now := s.now()
	d := reviewData{Campaign: newCampaignView(&c, now), Reviewer: text(se.reviewer), CanDecide: c.State == campaign.StateOpen,
		People: people(s.cfg.People, se.reviewer, now), Single: only != 0, BulkChosen: map[int]bool{}}
	for _, g := range groups(items, last, se.reviewer, now) {
		if only != 0 {
			if g = g.only(only); g == nil {
				continue
			}
		}
		for _, v := range g.all() {
			d.Total++
			if v.Open {
				d.OpenItems++
			} else {
				d.Decided++
			}
			if ref != nil && !ref.bulk && ref.item == v.ID {
				v.withForm(ref.values, ref.err)
			}
		}
		if g.Open > 0 {
			d.Open = append(d.Open, g)
		} else {
			d.Done = append(d.Done, g)
		}
	}
	if only != 0 && d.Total == 0 {
		s.notYours(w, r, se)
		return
	}
	if ref != nil && ref.bulk {
		d.Bulk, d.BulkError = ref.values, ref.err
		for _, n := range ref.chosen {
			d.BulkChosen[n] = true
		}
	}
	p := page{Title: d.Campaign.Name + ": your review", Data: d, Flash: s.sessions.takeFlash(se)}
	if ref != nil {
		p.Flash = &flash{Kind: "error", Text: ref.err}
	}
	s.render(w, r, status, "review.html", p)
}

// only is the group reduced to one of its items (nil when it lacks it).
func (g *group) only(id int) *group {
	for _, v := range g.all() {
		if v.ID != id {
			continue
		}
		out := &group{Head: v}
		if v.Open {
			out.Open = 1
		}
		return out
	}
	return nil
}

func (g *group) all() []*itemView {
	if g.Head == nil {
		return g.Children
	}
	return append([]*itemView{g.Head}, g.Children...)
}

// formOf reads a decision form.
func formOf(r *http.Request) formValues {
	return formValues{Decision: r.PostForm.Get("decision"), Justification: strings.TrimSpace(r.PostForm.Get("justification")),
		Until: strings.TrimSpace(r.PostForm.Get("until")), ReassignTo: strings.TrimSpace(r.PostForm.Get("reassign_to")),
		Grants: r.PostForm["grant"]}
}

// decision turns a form into a decision on an item. Fields that do not
// belong to the chosen decision are ignored (without JavaScript every
// field of the form is sent).
func decision(f formValues, it *campaign.Item, reviewer string, client netip.Addr) (campaign.Decision, error) {
	if f.Decision == "" {
		return campaign.Decision{}, formErrorf("item %d: choose a decision", it.ID)
	}
	kind, err := campaign.ParseKind(f.Decision)
	if err != nil {
		return campaign.Decision{}, formErrorf("item %d: %v", it.ID, err)
	}
	d := campaign.Decision{ItemID: it.ID, Reviewer: reviewer, Kind: kind, Justification: f.Justification, Source: "web"}
	if client.IsValid() {
		d.Client = client.String()
	}
	switch kind {
	case campaign.Certify:
		if f.Until != "" {
			if d.Until, err = time.Parse(time.DateOnly, f.Until); err != nil {
				return d, formErrorf("item %d: certified until %q: want a date (2027-03-31)", it.ID, f.Until)
			}
		}
	case campaign.Reassign:
		d.ReassignTo = f.ReassignTo
		if d.ReassignTo == "" {
			return d, formErrorf("item %d: choose the person to reassign it to", it.ID)
		}
	case campaign.Reduce:
		d.Grants = f.Grants
		if it.Kind == campaign.KindGrant {
			d.Grants = []string{it.GrantID}
		}
		if len(d.Grants) == 0 {
			return d, formErrorf("item %d: choose the grants to remove", it.ID)
		}
	}
	return d, nil
}

// post is a decision form posted to a campaign the session covers, with
// the reviewer's items in it.
type post struct {
	se    *session
	id    int64
	c     campaign.Campaign
	items []campaign.Item
}

// readPost reads a decision post, or writes the refusal.
func (s *Server) readPost(w http.ResponseWriter, r *http.Request) (post, bool) {
	se, id, ok := s.reviewer(w, r)
	if !ok {
		return post{}, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return post{}, false
	}
	c, items, _, err := s.cfg.Campaigns.ReviewerItems(r.Context(), id, se.reviewer)
	if err != nil {
		s.fail(w, r, "read reviewer items", err)
		return post{}, false
	}
	return post{se, id, c, items}, true
}

// decide is POST /review/{campaign}/decide: one decision on one of the
// session's items.
func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	p, ok := s.readPost(w, r)
	if !ok {
		return
	}
	se, id := p.se, p.id
	n, _ := strconv.Atoi(r.PostForm.Get("item"))
	it := find(p.items, n)
	if it == nil {
		s.notYours(w, r, se)
		return
	}
	if p.c.State != campaign.StateOpen {
		s.closed(w, r, se, id, &p.c)
		return
	}
	f := formOf(r)
	d, err := decision(f, it, se.reviewer, ClientAddr(r, s.cfg.TrustedProxies))
	if err == nil {
		err = s.cfg.Campaigns.Decide(r.Context(), id, []campaign.Decision{d})
	}
	back := r.PostForm.Get("back") == "item"
	if err != nil {
		s.refuse(w, r, se, id, err, &refused{item: it.ID, values: f}, back)
		return
	}
	s.sessions.setFlash(se, &flash{Kind: "ok", Text: fmt.Sprintf("Recorded: item %d %s.", it.ID, recorded(&d))})
	to := fmt.Sprintf("/review/%d#item-%d", id, it.ID)
	if back {
		to = fmt.Sprintf("/review/%d/items/%d", id, it.ID)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// recorded says what a decision did, for the confirmation.
func recorded(d *campaign.Decision) string {
	s := kindLabel(d.Kind)
	switch d.Kind {
	case campaign.Reassign:
		s += " to " + text(d.ReassignTo) + " (it has left your list)"
	case campaign.DontKnow:
		s += " (it has gone up to your manager, or the fallback reviewer)"
	case campaign.Reduce:
		s += ": " + text(strings.Join(d.Grants, ", ")) + " to be removed"
	}
	if !d.Until.IsZero() {
		s += " until " + day(d.Until)
	}
	return s
}

// refuse shows the page again with the refused form, for a decision the
// campaign rejected (422), or fails for anything else.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, se *session, id int64, err error, ref *refused, back bool) {
	var invalid bool
	for _, e := range []error{campaign.ErrInvalid, campaign.ErrJustification, campaign.ErrNotReviewer} {
		invalid = invalid || errors.Is(err, e)
	}
	var fe *formError
	if !invalid && !errors.As(err, &fe) {
		s.fail(w, r, "record decision", err)
		return
	}
	ref.err = strings.ReplaceAll(err.Error(), "\n", "; ")
	only := 0
	if back && !ref.bulk {
		only = ref.item
	}
	s.showReview(w, r, se, id, only, http.StatusUnprocessableEntity, ref)
}

// formError is a form the page itself refused (nothing reached the
// campaign).
type formError struct{ msg string }

func (e *formError) Error() string { return e.msg }

func formErrorf(format string, a ...any) error { return &formError{fmt.Sprintf(format, a...)} }

func find(items []campaign.Item, id int) *campaign.Item {
	for i := range items {
		if items[i].ID == id {
			return &items[i]
		}
	}
	return nil
}

func (s *Server) closed(w http.ResponseWriter, r *http.Request, se *session, id int64, c *campaign.Campaign) {
	s.sessions.setFlash(se, &flash{Kind: "error", Text: fmt.Sprintf("Campaign %d is %s: it takes no more decisions.", c.ID, c.State)})
	http.Redirect(w, r, fmt.Sprintf("/review/%d", id), http.StatusSeeOther)
}

// bulk is POST /review/{campaign}/bulk: one decision on every chosen item,
// recorded as one bulk action.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	p, ok := s.readPost(w, r)
	if !ok {
		return
	}
	se, id, items := p.se, p.id, p.items
	var chosen []int
	for _, v := range r.PostForm["item"] {
		n, _ := strconv.Atoi(v)
		if find(items, n) == nil {
			s.notYours(w, r, se)
			return
		}
		if !slices.Contains(chosen, n) {
			chosen = append(chosen, n)
		}
	}
	slices.Sort(chosen)
	if p.c.State != campaign.StateOpen {
		s.closed(w, r, se, id, &p.c)
		return
	}
	f := formOf(r)
	ref := &refused{bulk: true, values: f, chosen: chosen}
	tmpl, err := bulkDecision(f, se.reviewer, ClientAddr(r, s.cfg.TrustedProxies))
	if err == nil && len(chosen) == 0 {
		err = formErrorf("select at least one item for the bulk decision")
	}
	if err == nil {
		err = s.cfg.Campaigns.Bulk(r.Context(), id, tmpl, chosen)
	}
	if err != nil {
		s.refuse(w, r, se, id, err, ref, false)
		return
	}
	s.sessions.setFlash(se, &flash{Kind: "ok", Text: fmt.Sprintf("Recorded: %d item(s) %s, as one bulk decision.", len(chosen), recorded(&tmpl))})
	http.Redirect(w, r, fmt.Sprintf("/review/%d", id), http.StatusSeeOther)
}

// bulkDecision is the template of a bulk decision: certify (optionally
// until a date) or revoke.
func bulkDecision(f formValues, reviewer string, client netip.Addr) (campaign.Decision, error) {
	d := campaign.Decision{Reviewer: reviewer, Justification: f.Justification, Source: "web"}
	if client.IsValid() {
		d.Client = client.String()
	}
	switch f.Decision {
	case string(campaign.Certify):
		d.Kind = campaign.Certify
		if f.Until != "" {
			var err error
			if d.Until, err = time.Parse(time.DateOnly, f.Until); err != nil {
				return d, formErrorf("certified until %q: want a date (2027-03-31)", f.Until)
			}
		}
	case string(campaign.Revoke):
		d.Kind = campaign.Revoke
	default:
		return d, formErrorf("choose certify or revoke for the selected items")
	}
	return d, nil
}

// fail logs an unexpected error and shows a generic page (no detail reaches
// the browser).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("review page", "op", what, "err", err)
	s.message(w, r, http.StatusInternalServerError, "Something went wrong", "Nothing was recorded. Try again in a moment.")
}
