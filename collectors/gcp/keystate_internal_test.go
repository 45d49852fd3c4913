package gcp

import (
	"testing"

	iam "google.golang.org/api/iam/v1"
)

// TestKeyStateKnownFromAnySource: a key the asset data left unclear but
// IAM listed (the fallback re-reading a project whose asset pages were
// partly read), in either order, has a known state and needs no call.
func TestKeyStateKnownFromAnySource(t *testing.T) {
	const name = "projects/p/serviceAccounts/104/keys/abc"
	for _, order := range [][2]bool{{false, true}, {true, false}} {
		s := newScan()
		for _, known := range order {
			s.addKey("104", &iam.ServiceAccountKey{Name: name, KeyType: "USER_MANAGED"}, known)
		}
		if why, ok := s.keyUnknown["abc"]; ok {
			t.Errorf("order %v: state unknown (%s) although IAM listed the key", order, why)
		}
	}
	s := newScan()
	s.addKey("104", &iam.ServiceAccountKey{Name: name, KeyType: "USER_MANAGED"}, false)
	if _, ok := s.keyUnknown["abc"]; !ok {
		t.Error("a key only the asset data named, without its state, counts as known")
	}
}
