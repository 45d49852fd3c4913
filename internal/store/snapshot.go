package store

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// A scan's snapshot is its inventory's canonical JSON (nhi.Encode). One
// larger than snapshotRaw is stored gzip-compressed: a single SQLite or
// PostgreSQL value holds at most 1 GB, and a million identities' JSON is
// several. The sha256 column and the audit log record the hash of the JSON
// either way, and readers tell the two forms apart by gzip's magic bytes
// (JSON never starts with them).
var snapshotRaw = 64 << 20

// snapshotWriter hashes the JSON written to it and keeps it as stored:
// raw up to snapshotRaw, then compressed (what was kept raw first).
type snapshotWriter struct {
	h      hash.Hash
	raw    *bytes.Buffer
	zipped *bytes.Buffer
	gz     *gzip.Writer
}

func newSnapshotWriter() *snapshotWriter {
	return &snapshotWriter{h: sha256.New(), raw: &bytes.Buffer{}}
}

func (w *snapshotWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	if w.gz == nil && w.raw.Len()+len(p) <= snapshotRaw {
		return w.raw.Write(p)
	}
	if w.gz == nil {
		w.zipped = &bytes.Buffer{}
		w.gz, _ = gzip.NewWriterLevel(w.zipped, gzip.BestSpeed) // a valid level
		if _, err := w.gz.Write(w.raw.Bytes()); err != nil {
			return 0, err
		}
		w.raw = nil
	}
	return w.gz.Write(p)
}

// stored returns the bytes to store and the JSON's SHA-256.
func (w *snapshotWriter) stored() ([]byte, string, error) {
	sum := hex.EncodeToString(w.h.Sum(nil))
	if w.gz == nil {
		return w.raw.Bytes(), sum, nil
	}
	if err := w.gz.Close(); err != nil {
		return nil, "", err
	}
	return w.zipped.Bytes(), sum, nil
}

// snapshotJSON reads a snapshot's JSON from its stored bytes.
func snapshotJSON(body []byte) (io.Reader, error) {
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		return gzip.NewReader(bytes.NewReader(body))
	}
	return bytes.NewReader(body), nil
}

// snapshotHash is the SHA-256 of a snapshot's JSON; an unreadable
// compressed snapshot hashes to what could be read of it and err.
func snapshotHash(body []byte) (string, error) {
	r, err := snapshotJSON(body)
	if err != nil {
		return sha256Hex(body), err
	}
	h := sha256.New()
	_, err = io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), err
}
