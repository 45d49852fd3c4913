package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/suggest"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// Default draft files, in the working directory.
const (
	draftFile     = "catalog-draft.yaml"
	additionsFile = "catalog-additions.yaml"
)

func (a *app) catalogSuggestCmd() *cobra.Command {
	var (
		scanID int64
		out    string
		people []string
		merge  string
	)
	cmd := &cobra.Command{
		Use:   "suggest",
		Short: "Draft owned roles from a scan: grouped identities, baselines, owners and selectors, for a human to finish",
		Long: `suggest drafts an owned-role catalog from a stored scan (default: the latest).
It groups the identities no catalog role maps by role tags and labels (app,
service, role…), naming patterns, shared grants and owner hints, and writes
one role per group: a baseline from the grants its members hold, a business
and technical owner where the members' owner hints agree, and member
selectors that select exactly the group, with a comment saying why it was
grouped and how confident the grouping is.

The draft allows nothing a human has not seen: privileged grants and grants
few members hold are written commented out with a TODO; an owner the hints
do not agree on is a placeholder person who has departed, so the draft's
identities report as orphaned until a human names the owner. It loads as it
is ('nhiscan catalog validate' passes), and suggest checks that before it
finishes.

It never overwrites a file. With --merge DIR it proposes additions to the
catalog in DIR as a separate file (default catalog-additions.yaml): only
identities that catalog leaves unmapped, with its people; move the file into
DIR once reviewed. Owners resolve against the people of --people files (HR
CSV or SCIM JSON), which the draft names in people_files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scanID < 0 {
				return usagef("--scan %d: want a positive scan id", scanID)
			}
			if merge != "" && len(people) > 0 {
				return usagef("--people with --merge: a merge draft uses the people of the catalog it adds to")
			}
			if out == "" {
				out = draftFile
				if merge != "" {
					out = additionsFile
				}
			}
			if out != "-" && fileExists(out) {
				return usagef("--out %s exists: suggest never overwrites a file; name a new one", out)
			}
			return a.suggest(cmd, scanID, out, people, merge)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&scanID, "scan", 0, "scan id (default: the latest completed scan)")
	f.StringVar(&out, "out", "", "draft file to write, never overwritten; - for standard output (default "+draftFile+", or "+additionsFile+" with --merge)")
	f.StringSliceVar(&people, "people", nil, "people export (HR .csv or SCIM .json) to resolve owners with (repeatable)")
	f.StringVar(&merge, "merge", "", "propose additions to the catalog in this directory or file instead of a whole catalog")
	return cmd
}

func (a *app) suggest(cmd *cobra.Command, scanID int64, out string, peopleFiles []string, merge string) error {
	ctx := cmd.Context()
	cfg, at, err := a.configAt()
	if err != nil {
		return err
	}
	opt := suggest.Options{Now: at}
	if merge != "" {
		if opt.Existing, err = a.loadCatalog(cfg, []string{merge}, at); err != nil {
			return err
		}
	}
	if opt.People, err = readPeople(peopleFiles); err != nil {
		return err
	}
	dir := "."
	if out != "-" {
		dir = filepath.Dir(out)
	}
	for _, p := range peopleFiles {
		rel, err := relPath(dir, p)
		if err != nil {
			return usagef("--people %s: %v", p, err)
		}
		opt.PeopleFiles = append(opt.PeopleFiles, rel)
	}
	st, err := a.openExisting(ctx, cfg.Database, readOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	sc, inv, err := scanSnapshot(ctx, st, scanID)
	if err != nil {
		return err
	}
	source := filepath.Base(cfg.Database)
	if store.IsPostgres(cfg.Database) {
		source = store.RedactDSN(cfg.Database)
	}
	opt.Source = fmt.Sprintf("scan %d of %s (evaluated %s)", sc.ID, source, fmtTime(evaluatedAt(sc)))
	d := suggest.Suggest(&inv, opt)
	if err := writeDraft(d, out, merge, at); err != nil {
		return err
	}
	w := a.stdout
	if out == "-" {
		if err := d.WriteYAML(a.stdout); err != nil {
			return err
		}
		w = a.stderr
	}
	draftSummary(w, d, out, merge)
	return nil
}

// readPeople reads HR CSV and SCIM JSON exports into one people map.
func readPeople(files []string) (map[string]nhi.Person, error) {
	people := map[string]nhi.Person{}
	for _, name := range files {
		read := catalog.ReadPeopleCSV
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
		case ".json":
			read = catalog.ReadPeopleJSON
		default:
			return nil, usagef("--people %s: want an HR .csv or a SCIM .json export", name)
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, usagef("--people: %v", err)
		}
		ps, err := read(name, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if _, dup := people[p.ID]; dup {
				return nil, usagef("--people: %s is in more than one export", p.ID)
			}
			people[p.ID] = p
		}
	}
	return people, nil
}

// relPath is p relative to dir, slash-separated, as a catalog file names
// its people files.
func relPath(dir, p string) (string, error) {
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	ap, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(ad, ap)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// writeDraft writes the draft to out (created, never overwritten) and
// checks it loads as a catalog where it is (with the catalog it adds to,
// for a merge draft). For "-" (standard output, written by the caller) it
// checks a temporary copy. A draft that does not load is a bug: it is
// removed and reported.
func writeDraft(d *suggest.Draft, out, merge string, at time.Time) error {
	path := out
	if out == "-" {
		tmp, err := os.MkdirTemp("", "nhiscan-draft-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		path = filepath.Join(tmp, draftFile)
		// The copy names the people files from where it is.
		copyOf := *d
		copyOf.PeopleFiles = nil
		for _, p := range d.PeopleFiles {
			abs, err := filepath.Abs(filepath.FromSlash(p))
			if err != nil {
				return err
			}
			copyOf.PeopleFiles = append(copyOf.PeopleFiles, abs)
		}
		d = &copyOf
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return usagef("--out %s exists: suggest never overwrites a file; name a new one", out)
	}
	if err != nil {
		return err
	}
	werr := d.WriteYAML(f)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	paths := []string{path}
	if merge != "" {
		paths = []string{merge, path}
	}
	if werr == nil {
		if _, err := catalog.Load(at, paths...); err != nil {
			werr = fmt.Errorf("the draft does not load as a catalog (a bug; please report it): %w", err)
		}
	}
	if werr != nil {
		os.Remove(path)
		return werr
	}
	return nil
}

// draftSummary says what the draft holds and what is left to a human.
func draftSummary(w io.Writer, d *suggest.Draft, out, merge string) {
	levels := map[string]int{}
	placeholder := 0
	decisions := map[suggest.Decision]int{}
	for _, r := range d.Roles {
		levels[r.Level]++
		if r.BusinessOwner == suggest.Placeholder {
			placeholder++
		}
		for _, al := range r.Baseline {
			decisions[al.Decision]++
		}
	}
	pct := 0.0
	if d.Considered > 0 {
		pct = 100 * float64(d.Covered()) / float64(d.Considered)
	}
	fmt.Fprintf(w, "draft: %d roles mapping %d of %d identities considered (%.1f%%); confidence %d high, %d medium, %d low\n",
		len(d.Roles), d.Covered(), d.Considered, pct, levels["high"], levels["medium"], levels["low"])
	if d.Merge {
		fmt.Fprintf(w, "  %d identities already mapped by the catalog were left out\n", d.AlreadyMapped)
	}
	fmt.Fprintf(w, "  for a human: %d privileged and %d rarely held entitlements commented out, %d to write by hand; %d roles owned by the placeholder; %d identities unassigned\n",
		decisions[suggest.DecidePrivileged], decisions[suggest.ReviewRare]+decisions[suggest.ReviewGlob], decisions[suggest.Unwritable], placeholder, len(d.Unassigned))
	switch {
	case out == "-":
		fmt.Fprintf(w, "written to standard output; it loads as a catalog\n")
	case merge != "":
		fmt.Fprintf(w, "written %s; it loads together with %s (move it there once reviewed)\n", out, merge)
	default:
		fmt.Fprintf(w, "written %s; it loads as a catalog: nhiscan catalog validate %s\n", out, out)
	}
}
