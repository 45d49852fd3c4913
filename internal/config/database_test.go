package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/config"
)

func TestDatabasePostgres(t *testing.T) {
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte("postgres://nhiscan:s3cret-pw@db.internal/nhiscan\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		name, yaml string
		env        map[string]string
		want       string // the database, or the error's text
		wantErr    bool
	}{
		{name: "sqlite default", yaml: "log_format: text\n", want: "nhiscan.db"},
		{name: "dsn without password", yaml: "database: postgres://nhiscan@db.internal/nhiscan?sslmode=verify-full\n",
			want: "postgres://nhiscan@db.internal/nhiscan?sslmode=verify-full"},
		{name: "dsn with password refused", yaml: "database: postgres://nhiscan:s3cret-pw@db.internal/nhiscan\n",
			want: "1:11: database: a PostgreSQL DSN must not carry a password", wantErr: true},
		{name: "password parameter refused", yaml: "database: postgresql://db.internal/nhiscan?password=s3cret-pw\n",
			want: "must not carry a password", wantErr: true},
		{name: "dsn from a file", yaml: "database_file: dsn\n", want: "postgres://nhiscan:s3cret-pw@db.internal/nhiscan"},
		{name: "dsn from the environment", yaml: "database: x.db\n", env: map[string]string{"NHISCAN_DATABASE": "postgres://u:s3cret-pw@h/d"},
			want: "postgres://u:s3cret-pw@h/d"},
		{name: "environment file over the file's database", yaml: "database: x.db\n", env: map[string]string{"NHISCAN_DATABASE_FILE": dsnFile},
			want: "postgres://nhiscan:s3cret-pw@db.internal/nhiscan"},
		{name: "both in the file", yaml: "database: x.db\ndatabase_file: dsn\n", want: "2:16: set database or database_file, not both", wantErr: true},
		{name: "file holding something else", yaml: "database_file: " + filepath.Base(os.Args[0]) + "\n", want: "must hold one PostgreSQL DSN", wantErr: true},
		{name: "dsn pasted into database_file", yaml: "database_file: postgres://u@h/d\n", want: "looks like a DSN", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.name, "something else") {
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(os.Args[0])), []byte("s3cret-pw"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := config.Parse(filepath.Join(dir, "nhiscan.yaml"), []byte(tt.yaml), env(tt.env))
			if tt.wantErr {
				var ce *config.Errors
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want *Errors containing %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "s3cret-pw") {
					t.Errorf("the error echoes the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "nhiscan.db" || want == "x.db" {
				want = filepath.Join(dir, want)
			}
			if cfg.Database != want && cfg.Database != tt.want {
				t.Errorf("Database = %q, want %q", cfg.Database, want)
			}
		})
	}
}
