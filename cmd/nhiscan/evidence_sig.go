package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nhiscan/nhiscan/internal/signing"
	"github.com/nhiscan/nhiscan/reports"
)

// The signature of an evidence pack (reports.FileSignature): a statement
// of the manifest's SHA-256, the scan and its snapshot, signed when the pack
// was exported with a key.
const evidenceSigFormat = "nhiscan-evidence-signature/1"

var evidenceSigFields = []string{"manifest_sha256", "scan_id", "snapshot_sha256", "signed_at"}

// manifestSigner signs manifests with k at time now.
func manifestSigner(k ed25519.PrivateKey, now time.Time) reports.ManifestSigner {
	return func(manifest []byte, m reports.Manifest) ([]byte, error) {
		s := signing.Statement{Format: evidenceSigFormat, Fields: []signing.Field{
			{Name: "manifest_sha256", Value: sha256Hex(manifest)},
			{Name: "scan_id", Value: strconv.FormatInt(m.ScanID, 10)},
			{Name: "snapshot_sha256", Value: m.SnapshotSHA256},
			{Name: "signed_at", Value: now.UTC().Format(time.RFC3339Nano)},
		}}
		s.Sign(k)
		return s.Marshal(), nil
	}
}

// packSignature reads a pack's signature; ok is false when the pack has
// none. A signature that is not one is an error.
func packSignature(dir string) (s signing.Statement, ok bool, err error) {
	b, err := signing.ReadFile(filepath.Join(dir, reports.FileSignature))
	if errors.Is(err, fs.ErrNotExist) {
		return signing.Statement{}, false, nil
	}
	if err != nil {
		return signing.Statement{}, false, err
	}
	s, err = signing.Parse(b, evidenceSigFormat, evidenceSigFields...)
	if err != nil {
		return signing.Statement{}, false, fmt.Errorf("%s: %w", reports.FileSignature, err)
	}
	return s, true, nil
}

// checkPackSignature checks a pack's signature statement with pub: it
// verifies, and it names this manifest (sum), scan and snapshot.
func checkPackSignature(s *signing.Statement, pub ed25519.PublicKey, sum string, m *reports.Manifest) error {
	if err := s.Verify(pub); err != nil {
		return fmt.Errorf("%s: %w", reports.FileSignature, err)
	}
	switch {
	case s.Get("manifest_sha256") != sum:
		return fmt.Errorf("%s signs manifest sha256 %s, but manifest.json hashes to %s", reports.FileSignature, s.Get("manifest_sha256"), sum)
	case s.Get("scan_id") != strconv.FormatInt(m.ScanID, 10) || s.Get("snapshot_sha256") != m.SnapshotSHA256:
		return fmt.Errorf("%s signs scan %s snapshot %s, not the manifest's scan %d snapshot %s", reports.FileSignature,
			s.Get("scan_id"), s.Get("snapshot_sha256"), m.ScanID, m.SnapshotSHA256)
	}
	return nil
}

// readManifest decodes a pack's manifest.json.
func readManifest(dir string) (reports.Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, reports.FileManifest))
	if err != nil {
		return reports.Manifest{}, err
	}
	var m reports.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return reports.Manifest{}, fmt.Errorf("%s: %w", reports.FileManifest, err)
	}
	return m, nil
}
