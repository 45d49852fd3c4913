package catalog

import (
	"strings"
	"testing"
)

func TestHRCSVRowsAreLimited(t *testing.T) {
	defer func(n int) { maxCSVRows = n }(maxCSVRows)
	maxCSVRows = 2
	in := "email,status\na@x.example,active\nb@x.example,active\nc@x.example,active\n"
	_, err := ReadPeopleCSV("hr.csv", strings.NewReader(in))
	if err == nil || err.Error() != "hr.csv:4:1: more than 2 rows: over the limit for one HR CSV" {
		t.Errorf("%v", err)
	}
	if _, err := ReadPeopleCSV("hr.csv", strings.NewReader(in[:strings.LastIndex(in[:len(in)-1], "\n")+1])); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}
