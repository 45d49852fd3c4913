package campaign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// MinKeyBytes is the shortest review-link key accepted: 32 bytes, the
// HMAC-SHA256 block-size guidance for a full-strength key.
const MinKeyBytes = 32

// Link errors callers may test with errors.Is.
var (
	// ErrLinkInvalid: the token is malformed or its signature does not
	// verify (tampered, or signed with another key).
	ErrLinkInvalid = errors.New("review link is not valid")
	// ErrLinkExpired: the token verified but its expiry has passed.
	ErrLinkExpired = errors.New("review link has expired")
)

// Claims is what a review link grants: one reviewer, in one campaign,
// until an expiry.
type Claims struct {
	CampaignID int64
	Reviewer   string
	Expires    time.Time
}

// Signer makes and checks review-link tokens: HMAC-SHA256 over the
// campaign, the reviewer and the expiry, with a key that never appears in
// the configuration. The zero Signer has no key and signs nothing.
type Signer struct {
	key []byte
}

// NewSigner returns a signer for key, which must be at least MinKeyBytes
// long.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("review link key is %d bytes: want at least %d (for example: head -c 32 /dev/urandom | base64)", len(key), MinKeyBytes)
	}
	return &Signer{key: bytes.Clone(key)}, nil
}

// LoadKey reads the review-link key from file when one is named, else from
// the environment value env (NHISCAN_LINK_KEY). Surrounding white space is
// trimmed. The key is never part of an error message.
func LoadKey(file, env string) (*Signer, error) {
	var key []byte
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("review link key: %w", err)
		}
		key = bytes.TrimSpace(b)
	case env != "":
		key = []byte(strings.TrimSpace(env))
	default:
		return nil, errors.New("review link key: set campaigns.link_key_file or NHISCAN_LINK_KEY")
	}
	return NewSigner(key)
}

const linkPrefix = "v1."

// Sign returns the URL-safe token for the claims.
func (s *Signer) Sign(c Claims) string {
	payload := encodeClaims(c)
	return linkPrefix + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Verify checks a token's signature and expiry at now and returns its
// claims. A token that verifies but has expired returns ErrLinkExpired
// together with its claims, so a page can say whose link it was.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	rest, ok := strings.CutPrefix(token, linkPrefix)
	if !ok {
		return Claims{}, ErrLinkInvalid
	}
	p64, m64, ok := strings.Cut(rest, ".")
	if !ok {
		return Claims{}, ErrLinkInvalid
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(payload)) {
		return Claims{}, ErrLinkInvalid
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return Claims{}, ErrLinkInvalid
	}
	if !now.Before(c.Expires) {
		return c, ErrLinkExpired
	}
	return c, nil
}

func (s *Signer) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("nhiscan-review-link\x00"))
	h.Write(payload)
	return h.Sum(nil)
}

// encodeClaims is "campaign \n reviewer \n expiry-unix"; a reviewer id
// holds no newline (it is a lower-case email).
func encodeClaims(c Claims) []byte {
	return []byte(strconv.FormatInt(c.CampaignID, 10) + "\n" + strings.ToLower(c.Reviewer) + "\n" + strconv.FormatInt(c.Expires.Unix(), 10))
}

func decodeClaims(b []byte) (Claims, error) {
	parts := strings.Split(string(b), "\n")
	if len(parts) != 3 {
		return Claims{}, ErrLinkInvalid
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 || parts[1] == "" {
		return Claims{}, ErrLinkInvalid
	}
	return Claims{CampaignID: id, Reviewer: parts[1], Expires: time.Unix(exp, 0).UTC()}, nil
}
