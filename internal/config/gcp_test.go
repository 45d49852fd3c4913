package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/config"
)

// TestGCPCallTimeout: call_timeout is read from the gcp section and from
// NHISCAN_GCP_CALL_TIMEOUT, and must be a positive duration.
func TestGCPCallTimeout(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "nhiscan.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("providers:\n  gcp:\n    projects: [p1]\n    call_timeout: 90s\n")
	got, err := config.Load(file, env(nil))
	if err != nil || got.Providers.GCP.CallTimeout != 90*time.Second {
		t.Errorf("file: %v, %+v", err, got.Providers.GCP)
	}
	got, err = config.Load(file, env(map[string]string{"NHISCAN_GCP_CALL_TIMEOUT": "2m"}))
	if err != nil || got.Providers.GCP.CallTimeout != 2*time.Minute {
		t.Errorf("environment: %v, %+v", err, got.Providers.GCP)
	}
	write("providers:\n  gcp:\n    projects: [p1]\n    call_timeout: soon\n")
	if _, err := config.Load(file, env(nil)); err == nil || !strings.Contains(err.Error(), "call_timeout") {
		t.Errorf("bad duration: %v, want an error naming call_timeout", err)
	}
}
