package store

import "testing"

func TestRebind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"INSERT INTO t (a, b) VALUES (?, ?)", "INSERT INTO t (a, b) VALUES ($1, $2)"},
		{"UPDATE t SET a = ?1, b = ?12 WHERE c = ?1", "UPDATE t SET a = $1, b = $12 WHERE c = $1"},
		{"SELECT '?', \"a?b\", ? -- why?\n, ? /* what? */ , ?", "SELECT '?', \"a?b\", $1 -- why?\n, $2 /* what? */ , $3"},
		{"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
	} {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"nhiscan.db", "nhiscan.db"},
		{"postgres://u@h/d?search_path=s", "postgres://u@h/d?search_path=s"},
		{"postgres://u:s3cret@h/d", "postgres://u:xxxxx@h/d"},
		{"postgresql://h/d?password=s3cret&sslmode=require", "postgresql://h/d?password=xxxxx&sslmode=require"},
	} {
		if got := RedactDSN(tt.in); got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
