package config

import (
	"errors"
	"net/url"
	"strings"

	"github.com/nhiscan/nhiscan/internal/boundedio"
)

// Where the database is: an SQLite file (database: path, the default
// nhiscan.db) or a PostgreSQL database (database: postgres://…). A
// PostgreSQL DSN never carries its password in the configuration file:
// the password comes from PGPASSFILE (~/.pgpass), or the whole DSN from a
// file (database_file) or the environment (NHISCAN_DATABASE). Neither the
// DSN nor the file's content is ever quoted in a message.

// isPostgresDSN reports whether s names a PostgreSQL database; the store
// decides the engine by the same prefixes (store.IsPostgres).
func isPostgresDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// dsnHasPassword reports whether a PostgreSQL DSN carries a password, in
// its user information or as a password parameter. A DSN that does not
// parse is treated as carrying one, so it is never let through.
func dsnHasPassword(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return true
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	return u.Query().Has("password")
}

// database validates database and database_file and returns the database:
// a path resolved against the file's directory, or a DSN as given.
func (v *validator) database(fc *fileConfig) string {
	db, dbFile := fc.Database, fc.DatabaseFile
	// The environment overrides the file: NHISCAN_DATABASE over the
	// file's database_file, NHISCAN_DATABASE_FILE over its database.
	if db.Set && dbFile.Set && fromFile(db) != fromFile(dbFile) {
		if fromFile(db) {
			db = str{}
		} else {
			dbFile = str{}
		}
	}
	switch {
	case db.Set && dbFile.Set:
		v.errs.Add(dbFile.P, "set database or database_file, not both (database is set at %s)", db.P)
		return ""
	case dbFile.Set:
		return v.databaseFile(dbFile)
	case !db.Set:
		return "nhiscan.db"
	case strings.TrimSpace(db.V) == "":
		v.errs.Add(db.P, "database must not be empty")
		return ""
	case !isPostgresDSN(db.V):
		return v.path(db)
	case dsnHasPassword(db.V) && fromFile(db):
		v.errs.Add(db.P, "database: a PostgreSQL DSN must not carry a password in the configuration file: "+
			"use PGPASSFILE (~/.pgpass), or put the whole DSN in a file named by database_file, or in NHISCAN_DATABASE")
		return ""
	}
	return db.V
}

// databaseFile reads the DSN from the file database_file names.
func (v *validator) databaseFile(s str) string {
	if strings.TrimSpace(s.V) == "" {
		v.errs.Add(s.P, "database_file must not be empty")
		return ""
	}
	if looksSecret(s.V) || isPostgresDSN(s.V) {
		v.errs.Add(s.P, "database_file looks like a DSN or a secret, not a file path: put the DSN in a file and name that file here")
		return ""
	}
	b, err := boundedio.ReadFile(v.path(s), MaxSecretFileSize)
	if err != nil {
		var big *boundedio.TooLargeError
		if errors.As(err, &big) {
			v.errs.Add(s.P, "database_file: %s", big.For("a DSN file"))
		} else {
			v.errs.Add(s.P, "database_file: %v", err)
		}
		return ""
	}
	dsn := strings.TrimSpace(string(b))
	if !isPostgresDSN(dsn) || strings.ContainsAny(dsn, "\n\r") {
		v.errs.Add(s.P, "database_file must hold one PostgreSQL DSN (postgres://…) on one line; its content is not shown")
		return ""
	}
	return dsn
}
