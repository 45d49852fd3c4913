package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

// owner returns the session of a campaign owner, or sends the browser to
// sign in (or refuses, when sign-in is not configured or the person is
// not an allowed owner).
func (s *Server) owner(w http.ResponseWriter, r *http.Request) (*session, bool) {
	se := s.session(r)
	switch {
	case se != nil && se.owner:
		return se, true
	case s.oidc == nil:
		s.message(w, r, http.StatusForbidden, "Sign-in is not configured",
			"The campaign owner's view needs OpenID Connect sign-in: configure serve.oidc with allowed_owners.")
	case se != nil && se.email != "":
		s.message(w, r, http.StatusForbidden, "Not a campaign owner",
			"You are signed in as "+text(se.email)+", who is not among the campaign owners (serve.oidc.allowed_owners).")
	default:
		http.Redirect(w, r, "/auth/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	}
	return nil, false
}

// ownerRow is one campaign in the owner's list.
type ownerRow struct {
	Campaign campaignView
	KPIs     campaign.KPIs
}

func (s *Server) ownerList(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.owner(w, r); !ok {
		return
	}
	all, err := s.cfg.Campaigns.List(r.Context())
	if err != nil {
		s.fail(w, r, "list campaigns", err)
		return
	}
	now := s.now()
	var rows []ownerRow
	for i := range all {
		c := &all[i]
		row := ownerRow{Campaign: newCampaignView(c, now)}
		if c.Summary != nil {
			row.KPIs = *c.Summary
		} else {
			st, err := s.cfg.Campaigns.Status(r.Context(), c.ID)
			if err != nil {
				s.fail(w, r, "campaign status", err)
				return
			}
			row.KPIs = st.KPIs
		}
		rows = append(rows, row)
	}
	slices.Reverse(rows) // newest first
	s.render(w, r, http.StatusOK, "owner.html", page{Title: "Campaigns", Data: rows})
}

// ownerData is one campaign's status for its owner.
type ownerData struct {
	Campaign    campaignView
	CreatedBy   string
	Created     string
	Opened      string
	Closed      string
	KPIs        campaign.KPIs
	Reviewers   []reviewerRow
	Overdue     int
	Escalations []escalationRow
	Undelivered []campaign.Delivery
	Log         []logRow
}

type reviewerRow struct {
	Reviewer             string
	Items, Open, Overdue int
	Notified             string
}

type escalationRow struct {
	Item     int
	Label    string
	Reviewer string
	Deadline string
	Open     bool
}

type logRow struct {
	ID            int64
	At            string
	Reviewer      string
	Item          int
	Label         string
	Decision      string
	Justification string
	Bulk          bool
	Source        string
	Client        string
	Conflict      string
	Detail        string
}

func (s *Server) ownerCampaign(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.owner(w, r); !ok {
		return
	}
	id, ok := pathID(r, "campaign")
	if !ok || !s.campaignExists(r, id) {
		s.message(w, r, http.StatusNotFound, "Not found", "There is no such campaign.")
		return
	}
	st, err := s.cfg.Campaigns.Status(r.Context(), id)
	if err != nil {
		s.fail(w, r, "campaign status", err)
		return
	}
	s.render(w, r, http.StatusOK, "owner_campaign.html", page{Title: text(st.Campaign.Name) + ": status", Data: ownerView(&st, s.now())})
}

func ownerView(st *campaign.Status, now time.Time) ownerData {
	c := &st.Campaign
	d := ownerData{Campaign: newCampaignView(c, now), CreatedBy: text(c.CreatedBy), Created: stamp(c.CreatedAt),
		Opened: stamp(c.OpenedAt), Closed: stamp(c.ClosedAt), KPIs: st.KPIs}
	if c.Summary != nil {
		d.KPIs = *c.Summary
	}
	for _, rv := range st.Reviewers {
		d.Reviewers = append(d.Reviewers, reviewerRow{Reviewer: text(rv.Reviewer), Items: rv.Items, Open: rv.Open,
			Overdue: rv.Overdue, Notified: stamp(rv.Notified)})
		if rv.Overdue > 0 {
			d.Overdue++
		}
	}
	last := campaign.Last(st.Decisions)
	for i := range st.Items {
		it := &st.Items[i]
		if it.ParentID == 0 && it.Escalated {
			d.Escalations = append(d.Escalations, escalationRow{Item: it.ID, Label: text(it.Label()), Reviewer: text(it.Reviewer),
				Deadline: day(it.Deadline), Open: !campaign.Resolved(it, last)})
		}
	}
	failed := campaign.Undelivered(st.Deliveries)
	for _, rv := range st.Reviewers {
		if dl, ok := failed[rv.Reviewer]; ok {
			dl.Recipient, dl.Error = text(dl.Recipient), text(dl.Error)
			d.Undelivered = append(d.Undelivered, dl)
		}
	}
	for i := len(st.Decisions) - 1; i >= 0; i-- {
		d.Log = append(d.Log, logEntry(&st.Decisions[i], st.Items))
	}
	return d
}

// logEntry is one decision of the log, newest first on the page.
func logEntry(dc *campaign.Decision, items []campaign.Item) logRow {
	row := logRow{ID: dc.ID, At: stamp(dc.At), Reviewer: text(dc.Reviewer), Item: dc.ItemID, Decision: kindLabel(dc.Kind),
		Justification: text(dc.Justification), Bulk: dc.Bulk(), Source: text(dc.Source), Client: text(dc.Client), Conflict: text(dc.Conflict)}
	if it := find(items, dc.ItemID); it != nil {
		row.Label = text(it.Label())
	}
	switch {
	case dc.Kind == campaign.Reassign:
		row.Detail = "to " + text(dc.ReassignTo)
	case dc.Kind == campaign.Reduce:
		row.Detail = "removes " + text(strings.Join(dc.Grants, ", "))
	case !dc.Until.IsZero():
		row.Detail = "until " + day(dc.Until)
	case dc.Default != "":
		row.Detail = "default " + text(string(dc.Default))
	}
	return row
}
