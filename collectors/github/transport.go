package github

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v89/github"

	"github.com/nhiscan/nhiscan/collectors"
)

// tokenTransport adds a static token to every request.
type tokenTransport struct {
	base  http.RoundTripper
	token string
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(req)
}

// appTransport authenticates as a GitHub App installation: it signs an
// RS256 JWT with the App's private key, exchanges it at
// POST /app/installations/{id}/access_tokens for an installation token, and
// keeps that token in memory until shortly before it expires.
type appTransport struct {
	base           http.RoundTripper
	api            *url.URL
	appID          int64
	key            *rsa.PrivateKey
	org            string
	installationID int64
	now            func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
	// repoSelection is the installation's repository_selection ("all" or
	// "selected") as the last token answer gave it.
	repoSelection string
}

// repositorySelection returns the repository_selection of the installation
// token in use; empty before one was created.
func (t *appTransport) repositorySelection() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.repoSelection
}

func (t *appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.installationToken(req)
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+tok)
	return t.base.RoundTrip(req)
}

func (t *appTransport) jwt() (string, error) {
	now := t.now()
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(t.appID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-60 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("sign app jwt: %w", err)
	}
	return s, nil
}

// appAuthError is a failure to authenticate as the App's installation in
// an organisation: op names the call that failed, the installation lookup
// or the token creation, so that its gap names it (not the call that
// needed the token).
type appAuthError struct {
	op  string
	err error
}

func (e *appAuthError) Error() string { return e.err.Error() }
func (e *appAuthError) Unwrap() error { return e.err }

func (t *appTransport) installationToken(orig *http.Request) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.expires.Add(-5*time.Minute)) {
		return t.token, nil
	}
	if t.installationID == 0 {
		var in struct {
			ID int64 `json:"id"`
		}
		if err := t.appCall(orig, http.MethodGet, "orgs/"+url.PathEscape(t.org)+"/installation", &in); err != nil {
			return "", &appAuthError{op: opGetInstallation, err: fmt.Errorf("find the scanner App's installation in %s (is it installed there?): %w", t.org, err)}
		}
		if in.ID <= 0 {
			return "", &appAuthError{op: opGetInstallation, err: fmt.Errorf("find the scanner App's installation in %s: no installation id in the answer", t.org)}
		}
		t.installationID = in.ID
	}
	var out struct {
		Token               string `json:"token"`
		ExpiresAt           stamp  `json:"expires_at"`
		RepositorySelection string `json:"repository_selection"`
	}
	if err := t.appCall(orig, http.MethodPost, "app/installations/"+strconv.FormatInt(t.installationID, 10)+"/access_tokens", &out); err != nil {
		return "", &appAuthError{op: opCreateToken, err: fmt.Errorf("create an installation token for %s: %w", t.org, err)}
	}
	if out.Token == "" {
		return "", &appAuthError{op: opCreateToken, err: fmt.Errorf("create an installation token for %s: no token in the answer", t.org)}
	}
	t.token, t.expires, t.repoSelection = out.Token, out.ExpiresAt.T, out.RepositorySelection
	if !out.ExpiresAt.set() {
		t.expires = t.now().Add(time.Hour) // GitHub's tokens live an hour
	}
	return t.token, nil
}

func (t *appTransport) appCall(orig *http.Request, method, path string, v any) error {
	j, err := t.jwt()
	if err != nil {
		return err
	}
	u, err := t.api.Parse(path)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(orig.Context(), method, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+j)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", orig.Header.Get("User-Agent"))
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden &&
		(resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0"):
		return fmt.Errorf("%s %s: status %d: %w", method, u.Path, resp.StatusCode, collectors.ErrThrottled)
	case resp.StatusCode >= 500:
		return fmt.Errorf("%s %s: status %d: %w", method, u.Path, resp.StatusCode, collectors.ErrUnavailable)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s %s: status %d: %w", method, u.Path, resp.StatusCode, collectors.ErrDenied)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s %s: status 404: %w", method, u.Path, collectors.ErrDenied)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("%s %s: status %d", method, u.Path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, u.Path, err)
	}
	return nil
}

// etagTransport sends If-None-Match with the ETag of an earlier answer and
// turns a 304 into the earlier answer, so go-github sees an ordinary 200.
// Only GET requests are cached, never the credential-authorisation list
// (its entries carry the last eight characters of tokens).
type etagTransport struct {
	base   http.RoundTripper
	cache  ETagCache
	prefix string
	log    *slog.Logger
}

type cachedPage struct {
	Link string          `json:"link,omitempty"`
	Body json.RawMessage `json:"body"`
}

func cacheable(req *http.Request) bool {
	return req.Method == http.MethodGet && !bytes.Contains([]byte(req.URL.Path), []byte("/credential-authorizations"))
}

func (t *etagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !cacheable(req) {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	key := t.prefix + req.URL.RequestURI()
	etag, body, ok, err := t.cache.GetETag(ctx, key)
	if err != nil {
		t.log.Warn("etag cache read", "key", key, "error", err)
		ok = false
	}
	var cached cachedPage
	if ok && json.Unmarshal(body, &cached) == nil && etag != "" {
		req = req.Clone(ctx)
		req.Header.Set("If-None-Match", etag)
	} else {
		ok = false
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && ok {
		resp.Body.Close()
		h := resp.Header.Clone()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Del("Link")
		if cached.Link != "" {
			h.Set("Link", cached.Link)
		}
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(cached.Body)), ContentLength: int64(len(cached.Body)), Request: req,
		}, nil
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		return resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	page, err := json.Marshal(cachedPage{Link: resp.Header.Get("Link"), Body: json.RawMessage(b)})
	if err == nil && json.Valid(b) {
		if err := t.cache.PutETag(ctx, key, resp.Header.Get("ETag"), page); err != nil {
			t.log.Warn("etag cache write", "key", key, "error", err)
		}
	}
	return resp, nil
}

// do runs one request, waiting out primary and secondary rate limits
// (Retry-After, X-RateLimit-Reset) up to MaxRetries times.
//
// go-github holds the whole client back while a limit it has seen lasts,
// answering with a made-up error and no request. Such a held-back call
// does not use up a retry of its own (another call may keep re-arming the
// hold), but it is bounded too: at most heldBackWaits waits.
func (a *api) do(ctx context.Context, f func() (*gh.Response, error)) (*gh.Response, error) {
	heldBack := 0
	for attempt := 0; ; attempt++ {
		resp, err := f()
		if err == nil {
			return resp, nil
		}
		wait, local, ok := retryAfter(err, a.cfg.RetryBaseDelay)
		if !ok {
			return resp, err
		}
		if local && heldBack < heldBackWaits {
			heldBack++
			attempt--
		}
		if attempt >= a.cfg.MaxRetries || wait > a.cfg.MaxRetryDelay {
			return resp, err
		}
		wait = max(wait, 100*time.Millisecond)
		a.log.Info("github rate limited; waiting", "wait", wait.String(), "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return resp, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// retryAfter says whether err is a rate limit worth waiting out, how long
// to wait (unnamed when the answer names no wait), and whether go-github
// made it up without sending the request.
func retryAfter(err error, unnamed time.Duration) (wait time.Duration, local, ok bool) {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	switch {
	case errors.As(err, &ab):
		wait = unnamed
		if ab.RetryAfter != nil {
			wait = *ab.RetryAfter
		}
		return wait, notSent(ab.Response), true
	case errors.As(err, &rl):
		return time.Until(rl.Rate.Reset.Time) + time.Second, notSent(rl.Response), true
	}
	wait, ok = plainThrottle(err, unnamed)
	return wait, false, ok
}

// plainThrottle recognises a rate-limit answer go-github does not: a 429,
// or a 403 with Retry-After, whose body lacks GitHub's documentation URL
// (a proxy in front of GitHub Enterprise Server may send one). It returns
// how long to wait: Retry-After, or unnamed.
func plainThrottle(err error, unnamed time.Duration) (time.Duration, bool) {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return 0, false
	}
	ra := er.Response.Header.Get("Retry-After")
	if er.Response.StatusCode != http.StatusTooManyRequests && (er.Response.StatusCode != http.StatusForbidden || ra == "") {
		return 0, false
	}
	if n, err := strconv.Atoi(ra); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	return unnamed, true
}

func isPlainThrottle(err error) bool {
	_, ok := plainThrottle(err, 0)
	return ok
}

// heldBackWaits bounds the waits of one call that go-github held back
// without sending it.
const heldBackWaits = 20

// notSent reports whether a rate-limit error was made up by go-github
// without a request: its fake response carries no header at all, where
// every real answer has some.
func notSent(r *http.Response) bool {
	return r != nil && len(r.Header) == 0
}

// call sends one request with its rate-limit retries.
func (a *api) call(ctx context.Context, cl *gh.Client, method, path string, body, out any) (*gh.Response, error) {
	return a.do(ctx, func() (*gh.Response, error) {
		req, err := cl.NewRequest(ctx, method, path, body)
		if err != nil {
			return nil, err
		}
		return cl.Do(req, out)
	})
}

// errPaging says a list's paging did not advance, or went on past
// MaxPages: the list is incomplete and its gap says why.
var errPaging = errors.New("paging stopped")

// item is an element of a REST list: its key is the GitHub id that tells
// it apart from the others of its list, "" when the item lacks it.
type item interface{ itemKey() string }

// list fetches every page of a REST list. wrapKey names the array inside a
// wrapped answer ({"total_count":…, "secrets":[…]}); "" for a bare array.
//
// Items are decoded one by one: an item that cannot be decoded, or lacks
// its id, is left out and counted in bad, and the others are kept. An
// item repeated on a later page (GitHub's pages shift when items are added
// while paging) is kept once. A page must advance: its next page must come
// after it and it must bring an item not seen before; otherwise, or past
// MaxPages pages, paging stops with errPaging.
func list[T item](ctx context.Context, a *api, cl *gh.Client, path, wrapKey string) (out []T, bad int, err error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	seen := map[string]bool{}
	for page := 1; ; {
		u := path + sep + "per_page=100"
		if page > 1 {
			u += "&page=" + strconv.Itoa(page)
		}
		raws, resp, err := fetchPage(ctx, a, cl, u, wrapKey)
		if err != nil {
			return out, bad, fmt.Errorf("%s: %w", path, err)
		}
		fresh, failed := 0, 0
		for _, raw := range raws {
			var it T
			if json.Unmarshal(raw, &it) != nil || it.itemKey() == "" {
				failed++
				continue
			}
			if k := it.itemKey(); !seen[k] {
				seen[k] = true
				fresh++
				out = append(out, it)
			}
		}
		bad += failed
		next, err := nextPage(resp, page, fresh+failed, a.cfg.MaxPages)
		if err != nil || next == 0 {
			return out, bad, err
		}
		page = next
	}
}

// fetchPage gets one page of a list and splits it into its items.
func fetchPage(ctx context.Context, a *api, cl *gh.Client, u, wrapKey string) ([]json.RawMessage, *gh.Response, error) {
	var raw json.RawMessage
	resp, err := a.call(ctx, cl, http.MethodGet, u, nil, &raw)
	if err != nil {
		return nil, resp, err
	}
	if wrapKey != "" {
		var w map[string]json.RawMessage
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, resp, errors.New("decode: the answer is not a JSON object")
		}
		raw = w[wrapKey]
	}
	var items []json.RawMessage
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, resp, errors.New("decode: the answer holds no JSON array of items")
		}
	}
	return items, resp, nil
}

// nextPage returns the page after page (0: the last was read), or
// errPaging when the next page does not advance, the page brought no item
// not seen before (brought counts them, undecodable ones included), or the
// list runs past maxPages.
func nextPage(resp *gh.Response, page, brought, maxPages int) (int, error) {
	next := resp.NextPage
	switch {
	case next == 0 && (resp.NextPageToken != "" || resp.Cursor != "" || resp.After != ""):
		return 0, fmt.Errorf("page %d links to its next page by cursor, which this list does not use: %w", page, errPaging)
	case next == 0:
		return 0, nil
	case next <= page:
		return 0, fmt.Errorf("page %d links to page %d as its next: %w", page, next, errPaging)
	case brought == 0:
		return 0, fmt.Errorf("page %d brought no item not seen before, yet links to a next page: %w", page, errPaging)
	case page >= maxPages:
		return 0, fmt.Errorf("more than %d pages: %w", maxPages, errPaging)
	}
	return next, nil
}
