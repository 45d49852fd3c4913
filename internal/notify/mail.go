package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/nhiscan/nhiscan/internal/campaign"
)

// Transport carries a finished message somewhere.
type Transport interface {
	// Name names the transport in the delivery log (smtp, outbox).
	Name() string
	Send(ctx context.Context, m *gomail.Msg, l Label) error
}

// Label names a message for a transport that files it: its kind (invite,
// reminder, escalation, revoke-notice) and its recipient's address.
type Label struct {
	Kind, To string
}

// Mailer turns notices into email and hands them to its transports. It
// implements campaign.Notifier.
type Mailer struct {
	// From is the sender, "name <address>" or an address.
	From string
	// Transports receive every message, in order (the demo writes the
	// outbox and, when configured, SMTP). A notice is delivered when every
	// transport took it.
	Transports []Transport
}

// Notify renders the notice and sends it through every transport.
func (m *Mailer) Notify(ctx context.Context, n *campaign.Notice) (campaign.Receipt, error) {
	msg, err := m.Message(n)
	if err != nil {
		return campaign.Receipt{}, err
	}
	names := make([]string, 0, len(m.Transports))
	var errs []error
	for _, t := range m.Transports {
		names = append(names, t.Name())
		if err := t.Send(ctx, msg, Label{Kind: string(n.Kind), To: n.To.Address}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name(), err))
		}
	}
	if len(m.Transports) == 0 {
		errs = append(errs, errors.New("no transport configured"))
	}
	return campaign.Receipt{Transport: strings.Join(names, "+"), MessageID: n.MessageID}, errors.Join(errs...)
}

// Message builds the email of a notice: multipart/alternative with the
// plain text first and HTML second, a stable Message-ID and MIME boundary
// (derived from the notice), the notice's time as Date, and headers that
// mark it as automatic.
func (m *Mailer) Message(n *campaign.Notice) (*gomail.Msg, error) {
	r, err := Render(n)
	if err != nil {
		return nil, err
	}
	return envelope{from: m.From, to: n.To.Address, toName: n.To.Name, boundary: n.MessageID, messageID: strings.Trim(n.MessageID, "<>"),
		at: n.At, headers: [][2]string{{"X-Nhiscan-Campaign", strconv.FormatInt(n.Campaign.ID, 10)}, {"X-Nhiscan-Notice", string(n.Kind)}}}.build(r)
}

// envelope is what a message carries besides its rendered bodies.
type envelope struct {
	from, to, toName string
	// boundary seeds the MIME boundary (with the recipient), so the same
	// notice gives the same bytes; messageID is empty for none.
	boundary, messageID string
	at                  time.Time
	// headers are set after the automatic-mail headers, in order.
	headers [][2]string
}

// build makes the message: a plain recipient address only, the sender
// parsed, header values without line breaks, text first and HTML second,
// and headers that mark it as automatic.
func (e envelope) build(r Rendered) (*gomail.Msg, error) {
	to, err := plainAddress(e.to)
	if err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	from, err := mail.ParseAddress(e.from)
	if err != nil {
		return nil, fmt.Errorf("sender %q: %w", headerText(e.from, 100), err)
	}
	sum := sha256.Sum256([]byte(e.boundary + "\x00" + to))
	msg := gomail.NewMsg(gomail.WithBoundary("nhiscan-"+hex.EncodeToString(sum[:12])), gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(headerText(from.Name, 100), from.Address); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if err := msg.AddToFormat(headerText(e.toName, 100), to); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(r.Subject)
	msg.SetDateWithValue(e.at)
	if e.messageID != "" {
		msg.SetMessageIDWithValue(e.messageID)
	}
	msg.SetGenHeader(gomail.HeaderUserAgent, "nhiscan")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	for _, h := range e.headers {
		msg.SetGenHeader(gomail.Header(h[0]), h[1])
	}
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return msg, nil
}

// plainAddress accepts a bare address only: no display name, no line
// break, nothing a header could be smuggled through.
func plainAddress(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n<>\",;") {
		return "", fmt.Errorf("%q is not a plain email address", headerText(s, 100))
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not a plain email address", headerText(s, 100))
	}
	return a.Address, nil
}
