package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/config"
)

// TestAWSLastAccessed: the Access Advisor budget is read from the aws
// section and from NHISCAN_AWS_LAST_ACCESSED*, and every bad value is
// reported at once.
func TestAWSLastAccessed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nhiscan.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("providers:\n  aws:\n    last_accessed: all\n    last_accessed_max_jobs: 20\n    last_accessed_rate: 2.5\n    last_accessed_timeout: 90s\n")
	got, err := config.Load(file, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Providers.AWS; a.LastAccessed != "all" || a.LastAccessedMaxJobs != 20 || a.LastAccessedRate != 2.5 || a.LastAccessedTimeout != 90*time.Second {
		t.Errorf("file: %+v", a)
	}
	got, err = config.Load(file, env(map[string]string{"NHISCAN_AWS_LAST_ACCESSED": "off"}))
	if err != nil || got.Providers.AWS.LastAccessed != "off" {
		t.Errorf("environment: %v, %+v", err, got.Providers.AWS)
	}
	write("providers:\n  aws:\n    last_accessed: sometimes\n    last_accessed_max_jobs: 0\n    last_accessed_rate: fast\n")
	_, err = config.Load(file, env(nil))
	for _, want := range []string{"last_accessed \"sometimes\"", "last_accessed_max_jobs", "last_accessed_rate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad values: %v, want an error naming %s", err, want)
		}
	}
}
