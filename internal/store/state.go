package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// SaveCertification records an approved state. The newest by time (then by
// insertion) is the one LatestCertification returns.
func (s *Store) SaveCertification(ctx context.Context, c nhi.Certification) error {
	if err := s.writable("save certification"); err != nil {
		return err
	}
	return saveCertification(ctx, s.db, c)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// saveCertification inserts a certification through db or a transaction.
func saveCertification(ctx context.Context, db execer, c nhi.Certification) error {
	if c.At.IsZero() {
		return errors.New("save certification: time is zero")
	}
	c.At = c.At.UTC()
	c.Grants, c.Credentials = sortedIDs(c.Grants), sortedIDs(c.Credentials)
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("save certification: %w", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO certifications (at, body) VALUES (?, ?)", formatTime(c.At), string(body)); err != nil {
		return fmt.Errorf("save certification: %w", err)
	}
	return nil
}

// LatestCertification returns the newest certification, or nil when there is
// none.
func (s *Store) LatestCertification(ctx context.Context) (*nhi.Certification, error) {
	var body []byte
	err := s.db.QueryRowContext(ctx, "SELECT body FROM certifications ORDER BY at DESC, id DESC LIMIT 1").Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("latest certification: %w", err)
	}
	var c nhi.Certification
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("latest certification: %w", err)
	}
	c.At = c.At.UTC()
	return &c, nil
}

// GetETag returns the cached ETag and response body for key; ok is false
// when nothing is cached.
func (s *Store) GetETag(ctx context.Context, key string) (etag string, body []byte, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT etag, body FROM etags WHERE key = ?", key).Scan(&etag, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("etag %q: %w", key, err)
	}
	if body == nil {
		body = []byte{}
	}
	return etag, body, true, nil
}

// PutETag caches an ETag and its response body for key, replacing any
// earlier one.
func (s *Store) PutETag(ctx context.Context, key, etag string, body []byte) error {
	if err := s.writable("put etag"); err != nil {
		return err
	}
	if body == nil {
		body = []byte{}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO etags (key, etag, body, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET etag = excluded.etag, body = excluded.body, updated = excluded.updated`,
		key, etag, body, formatTime(s.now()))
	if err != nil {
		return fmt.Errorf("put etag %q: %w", key, err)
	}
	return nil
}

// sortedIDs copies m with each id list sorted, leaving the caller's map alone.
func sortedIDs(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		v = append([]string(nil), v...)
		sort.Strings(v)
		out[k] = v
	}
	return out
}
