package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"github.com/nhiscan/nhiscan/internal/boundedio"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// HR CSV columns. A header row is required; columns may come in any order;
// email and status are required, the others optional.
const (
	ColEmail        = "email"
	ColName         = "name"
	ColStatus       = "status"
	ColDepartedOn   = "departed_on"
	ColManagerEmail = "manager_email"
	ColTeam         = "team"
	ColGitHubLogin  = "github_login"
)

// PeopleCSVColumns lists the HR CSV columns in their documented order.
var PeopleCSVColumns = []string{ColEmail, ColName, ColStatus, ColDepartedOn, ColManagerEmail, ColTeam, ColGitHubLogin}

var requiredCSVColumns = []string{ColEmail, ColStatus}

// ReadPeopleCSV reads an HR export on its own (the catalog's people_csv
// does the same inside Load). It checks each row, duplicate emails and
// that every manager is a person in the file, and returns the people sorted
// by id, or *Errors naming name:line:col for every problem.
func ReadPeopleCSV(name string, r io.Reader) ([]nhi.Person, error) {
	return readPeople(name, r, parsePeopleCSV)
}

// parsePeopleCSV parses an HR export into people with positions.
func parsePeopleCSV(name string, data []byte) ([]personDef, Errors) {
	var errs errorList
	// A byte order mark is dropped; a NUL or invalid UTF-8 is refused.
	data, err := boundedio.CheckText(data)
	var te *boundedio.TextError
	if errors.As(err, &te) {
		errs.add(pos{File: name, Line: te.Line, Col: te.Col}, "%v", err)
		return nil, errs.es
	}
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			errs.add(pos{File: name}, "empty HR CSV: a header row is required (%s)", strings.Join(PeopleCSVColumns, ","))
		} else {
			errs.add(csvErrPos(name, err), "csv: %s", csvErrMsg(err))
		}
		return nil, errs.es
	}
	col := map[string]int{}
	for i, h := range header {
		line, c := r.FieldPos(i)
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, k := range PeopleCSVColumns {
			known = known || k == h
		}
		switch {
		case !known:
			errs.add(pos{File: name, Line: line, Col: c}, "unknown HR CSV column %q (known: %s)", header[i], strings.Join(PeopleCSVColumns, ", "))
		case col[h] != 0:
			errs.add(pos{File: name, Line: line, Col: c}, "duplicate HR CSV column %q", h)
		default:
			col[h] = i + 1 // 0 means absent
		}
	}
	for _, req := range requiredCSVColumns {
		if col[req] == 0 {
			errs.add(pos{File: name, Line: 1, Col: 1}, "HR CSV has no %q column", req)
		}
	}
	if col[ColEmail] == 0 || col[ColStatus] == 0 {
		return nil, errs.es
	}
	var people []personDef
	l := &loader{}
	for rows := 0; ; rows++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if rows == maxCSVRows {
			line, _ := r.FieldPos(0)
			errs.add(pos{File: name, Line: line, Col: 1}, "more than %d rows: over the limit for one HR CSV", maxCSVRows)
			break
		}
		if err != nil {
			errs.add(csvErrPos(name, err), "csv: %s", csvErrMsg(err))
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				continue
			}
			break
		}
		cell := func(c string) str {
			i := col[c]
			if i == 0 {
				return str{}
			}
			line, cc := r.FieldPos(i - 1)
			v := strings.TrimSpace(rec[i-1])
			return str{V: v, P: pos{File: name, Line: line, Col: cc}, Set: v != ""}
		}
		email := cell(ColEmail)
		rowAt := email.P
		fp := filePerson{
			meta:     meta{P: rowAt},
			ID:       email,
			Name:     cell(ColName),
			Status:   cell(ColStatus),
			Departed: cell(ColDepartedOn),
			Manager:  cell(ColManagerEmail),
			Team:     cell(ColTeam),
		}
		fp.Status.V = strings.ToLower(fp.Status.V)
		if gh := cell(ColGitHubLogin); gh.Set {
			fp.Aliases = []str{gh}
		}
		pd, ok := l.person(fp)
		if ok {
			people = append(people, pd)
		}
	}
	// Row messages use the inline wording; name the CSV columns instead.
	for _, e := range l.errs.es {
		e.Msg = csvWording.Replace(e.Msg)
		errs.es = append(errs.es, e)
	}
	return people, errs.es
}

var csvWording = strings.NewReplacer(
	"person has no id (their email address)", "row has no email",
	"person id ", "email ",
	"departed date given for an active person", "departed_on given for an active person",
	"departed person has no departed date", "departed person has no departed_on date",
)

func csvErrPos(name string, err error) pos {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pos{File: name, Line: pe.Line, Col: pe.Column}
	}
	return pos{File: name}
}

func csvErrMsg(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
