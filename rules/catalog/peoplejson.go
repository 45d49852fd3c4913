package catalog

import (
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nhiscan/nhiscan/internal/boundedio"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// The JSON people export is SCIM 2.0 (RFC 7643 / 7644) users, as identity
// providers and HR systems export them: a ListResponse, or a bare array of
// User resources. docs/catalog.md lists every attribute read.
const (
	SCIMListResponse   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SCIMEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// SCIMNHIScanHR is nhiscan's extension for what SCIM has no attribute
	// for: the leaving date (departedOn) and the GitHub login.
	SCIMNHIScanHR = "urn:nhiscan:params:scim:schemas:extension:hr:2.0:User"
)

// scimIgnored are RFC 7643 core User attributes an export may carry that
// nhiscan does not read (never printed or stored; "password" included).
var scimIgnored = map[string]bool{
	"schemas": true, "externalid": true, "meta": true, "nickname": true, "profileurl": true, "title": true,
	"usertype": true, "preferredlanguage": true, "locale": true, "timezone": true, "password": true,
	"phonenumbers": true, "ims": true, "photos": true, "addresses": true, "groups": true,
	"entitlements": true, "roles": true, "x509certificates": true,
}

// ReadPeopleJSON reads a SCIM JSON people export on its own (a catalog's
// people_files does the same inside Load), with the checks of
// ReadPeopleCSV, and returns the people sorted by id or *Errors naming
// name:line:col and the JSON path of every problem.
func ReadPeopleJSON(name string, r io.Reader) ([]nhi.Person, error) {
	return readPeople(name, r, parsePeopleJSON)
}

// readPeople reads one people export with parse, checks duplicates,
// aliases and managers within it, and returns the people sorted by id.
func readPeople(name string, r io.Reader, parse func(string, []byte) ([]personDef, Errors)) ([]nhi.Person, error) {
	data, err := boundedio.ReadAll(r, MaxFileSize)
	if err != nil {
		return nil, &Errors{{File: name, Msg: "read: " + pathErr(err)}}
	}
	l := &loader{}
	var es Errors
	l.people, es = parse(name, data)
	l.errs.es = append(l.errs.es, es...)
	m := l.buildPeople()
	if len(l.errs.es) > 0 {
		out := sortErrors(l.errs.es)
		return nil, &out
	}
	people := make([]nhi.Person, 0, len(m))
	for _, p := range m {
		people = append(people, p)
	}
	sort.Slice(people, func(i, j int) bool { return people[i].ID < people[j].ID })
	return people, nil
}

// peopleParsers parse a people export by its file extension.
var peopleParsers = map[string]func(string, []byte) ([]personDef, Errors){
	".csv":  parsePeopleCSV,
	".json": parsePeopleJSON,
}

// loadPeopleFiles loads a catalog file's people_files: HR CSV and SCIM
// JSON exports, chosen by extension, relative to the YAML file.
func (l *loader) loadPeopleFiles(yamlFile string, refs []str) {
	seen := map[string]pos{}
	for _, ref := range refs {
		if first, dup := seen[ref.V]; dup {
			l.errs.add(ref.P, "people file %q already listed at %s", ref.V, first)
			continue
		}
		seen[ref.V] = ref.P
		parse, ok := peopleParsers[strings.ToLower(path.Ext(ref.V))]
		if !ok {
			l.errs.add(ref.P, "people file %q: want a .csv (HR CSV) or .json (SCIM users) file", ref.V)
			continue
		}
		l.loadPeople(yamlFile, ref, "people_files", parse)
	}
}

// loadPeople reads one people export named in a catalog file.
func (l *loader) loadPeople(yamlFile string, ref str, key string, parse func(string, []byte) ([]personDef, Errors)) {
	name, err := l.src.rel(yamlFile, ref.V)
	if err != nil {
		l.errs.add(ref.P, "%s %q %v", key, ref.V, err)
		return
	}
	data, ok := l.read(name, ref.P)
	if !ok {
		return
	}
	people, es := parse(name, data)
	l.errs.es = append(l.errs.es, es...)
	l.people = append(l.people, people...)
}

// scimDoc is a JSON export being read: its users and where problems go.
type scimDoc struct {
	file  string
	lines lineIndex
	errs  errorList
	users []scimUser
}

// scimUser is one User resource read into a person with positions.
type scimUser struct {
	path    string
	fp      filePerson
	scimID  str
	manager str // the enterprise extension's manager.value, unresolved
}

func (d *scimDoc) at(n *jsonNode) pos { return d.lines.pos(d.file, n.off) }

func (d *scimDoc) errf(n *jsonNode, path, format string, args ...any) {
	d.errs.add(d.at(n), "%s: %s", path, fmt.Sprintf(format, args...))
}

// want reports whether n has the kind k, and an error when not.
func (d *scimDoc) want(n *jsonNode, path string, k jsonKind) bool {
	if n.kind == k {
		return true
	}
	d.errf(n, path, "want %s %s, got %s", article(k), k, n.kind)
	return false
}

func article(k jsonKind) string {
	if k == jsonObject || k == jsonArray {
		return "an"
	}
	return "a"
}

// str returns a string attribute with its position.
func (d *scimDoc) str(n *jsonNode, path string) str {
	if n.kind == jsonNull || !d.want(n, path, jsonString) {
		return str{}
	}
	v := strings.TrimSpace(n.str)
	return str{V: v, P: d.at(n), Set: v != ""}
}

// parsePeopleJSON parses a SCIM export into people with positions.
func parsePeopleJSON(name string, data []byte) ([]personDef, Errors) {
	d := &scimDoc{file: name, lines: newLineIndex(data)}
	if len(data) > maxPeopleFileBytes {
		d.errs.add(pos{File: name}, "SCIM export larger than %d MiB", maxPeopleFileBytes>>20)
		return nil, d.errs.es
	}
	root, jerr := parseJSONTree(data)
	if jerr != nil {
		d.errs.add(d.lines.pos(name, jerr.off), "%s", jerr.msg)
		return nil, d.errs.es
	}
	users, base := d.resources(root)
	for i, u := range users {
		p := base + "[" + strconv.Itoa(i) + "]"
		if d.want(u, p, jsonObject) {
			d.users = append(d.users, d.user(u, p))
		}
	}
	return d.people(), d.errs.es
}

// resources returns the User resources of a ListResponse or a bare array,
// and the JSON path they sit under.
func (d *scimDoc) resources(root *jsonNode) ([]*jsonNode, string) {
	if root.kind == jsonArray {
		return root.elems, ""
	}
	if !d.want(root, "$", jsonObject) {
		return nil, ""
	}
	var res *jsonNode
	total := -1
	for _, m := range root.keys {
		switch strings.ToLower(m.name) {
		case "schemas", "itemsperpage", "startindex":
		case "totalresults":
			if n, err := strconv.Atoi(m.val.str); err == nil && m.val.kind == jsonNumber {
				total = n
			} else {
				d.errf(m.val, "totalResults", "want a whole number")
			}
		case "resources":
			res = m.val
		default:
			d.errs.add(d.lines.pos(d.file, m.off), "unknown ListResponse attribute %q (want schemas, totalResults, itemsPerPage, startIndex, Resources)", m.name)
		}
	}
	if res == nil {
		d.errs.add(d.at(root), "no Resources: want a SCIM ListResponse (%s) or an array of users", SCIMListResponse)
		return nil, ""
	}
	if !d.want(res, "Resources", jsonArray) {
		return nil, ""
	}
	if total > len(res.elems) {
		d.errf(root, "totalResults", "the export holds %d of %d users: it is one page of a paged response; export every page into one file", len(res.elems), total)
	}
	return res.elems, "Resources"
}

// user reads one User resource.
func (d *scimDoc) user(n *jsonNode, p string) scimUser {
	u := scimUser{path: p, fp: filePerson{meta: meta{P: d.at(n), Bad: map[string]bool{}}}}
	var userName, primary, first str
	var emails []str
	active, activeSet := false, false
	var departed str
	for _, m := range n.keys {
		mp := p + "." + m.name
		switch key := strings.ToLower(m.name); {
		case key == "id":
			u.scimID = d.str(m.val, mp)
		case key == "username":
			userName = d.str(m.val, mp)
		case key == "displayname":
			if s := d.str(m.val, mp); s.Set {
				u.fp.Name = s
			}
		case key == "name":
			if s := d.name(m.val, mp); s.Set && !u.fp.Name.Set {
				u.fp.Name = s
			}
		case key == "active":
			if d.want(m.val, mp, jsonBool) {
				active, activeSet = m.val.b, true
			}
		case key == "emails":
			primary, first, emails = d.emails(m.val, mp)
		case key == strings.ToLower(SCIMEnterpriseUser):
			u.fp.Team, u.manager = d.enterprise(m.val, mp)
		case key == strings.ToLower(SCIMNHIScanHR):
			var gh str
			departed, gh = d.nhiscanHR(m.val, mp)
			if gh.Set {
				u.fp.Aliases = append(u.fp.Aliases, gh)
			}
		case scimIgnored[key], strings.HasPrefix(key, "urn:"):
			// Read but not used; other extensions are the vendor's.
		default:
			d.errs.add(d.lines.pos(d.file, m.off), "%s: unknown SCIM user attribute %q", p, m.name)
		}
	}
	u.fp.ID = idOf(primary, first, userName)
	for _, e := range append(emails, userName) {
		if e.Set && !strings.EqualFold(e.V, u.fp.ID.V) {
			u.fp.Aliases = append(u.fp.Aliases, e)
		}
	}
	switch {
	case departed.Set:
		// A leaving date makes the person a leaver from that date on,
		// whatever "active" says: HR lists leavers ahead of their last day.
		u.fp.Status, u.fp.Departed = str{V: nhi.PersonDeparted, Set: true}, departed
	case !activeSet:
		d.errf(n, p, "user has no \"active\" attribute (true or false)")
		u.fp.Bad["status"] = true
	case active:
		u.fp.Status = str{V: nhi.PersonActive, Set: true}
	default:
		d.errf(n, p, "user is not active but has no %s departedOn date", SCIMNHIScanHR)
		u.fp.Status = str{V: nhi.PersonDeparted, Set: true}
		u.fp.Bad["departed"] = true
	}
	return u
}

// idOf picks the person id: the primary email, else the first email, else
// the userName.
func idOf(primary, first, userName str) str {
	switch {
	case primary.Set:
		return primary
	case first.Set:
		return first
	}
	return userName
}

// fields reads a complex attribute: each key of strs (lower case) receives
// its string value, each key of subs reads its value itself, keys in
// ignore are read and dropped, and any other key is an error naming what.
// It reports whether n was an object.
func (d *scimDoc) fields(n *jsonNode, p, what string, strs map[string]*str, subs map[string]func(*jsonNode, string), ignore ...string) bool {
	if n.kind == jsonNull || !d.want(n, p, jsonObject) {
		return false
	}
	for _, m := range n.keys {
		mp := p + "." + m.name
		key := strings.ToLower(m.name)
		switch dst, sub := strs[key], subs[key]; {
		case dst != nil:
			*dst = d.str(m.val, mp)
		case sub != nil:
			sub(m.val, mp)
		case slices.Contains(ignore, key):
			d.str(m.val, mp)
		default:
			d.errs.add(d.lines.pos(d.file, m.off), "%s: unknown %s attribute %q", p, what, m.name)
		}
	}
	return true
}

// name reads the "name" complex attribute into a display name.
func (d *scimDoc) name(n *jsonNode, p string) str {
	var formatted, given, family str
	if !d.fields(n, p, "name", map[string]*str{"formatted": &formatted, "givenname": &given, "familyname": &family}, nil,
		"middlename", "honorificprefix", "honorificsuffix") {
		return str{}
	}
	if formatted.Set {
		return formatted
	}
	s := str{V: strings.TrimSpace(given.V + " " + family.V), P: d.at(n)}
	s.Set = s.V != ""
	return s
}

// emails reads the "emails" multi-valued attribute: the primary one, the
// first one and all of them.
func (d *scimDoc) emails(n *jsonNode, p string) (primary, first str, all []str) {
	if n.kind == jsonNull || !d.want(n, p, jsonArray) {
		return
	}
	for i, e := range n.elems {
		ep := p + "[" + strconv.Itoa(i) + "]"
		var v str
		var primaryAt *jsonNode
		isPrimary := func(b *jsonNode, bp string) {
			if d.want(b, bp, jsonBool) && b.b {
				primaryAt = b
			}
		}
		if !d.fields(e, ep, "email", map[string]*str{"value": &v}, map[string]func(*jsonNode, string){"primary": isPrimary}, "type", "display") {
			continue
		}
		if !v.Set {
			d.errf(e, ep, "email has no value")
			continue
		}
		if _, ok := normEmail(v.V); !ok {
			d.errf(e, ep+".value", "%q is not an email address", v.V)
			continue
		}
		if primaryAt != nil && primary.Set {
			d.errf(primaryAt, ep+".primary", "more than one primary email")
		}
		if primaryAt != nil && !primary.Set {
			primary = v
		}
		if !first.Set {
			first = v
		}
		all = append(all, v)
	}
	return primary, first, all
}

// enterprise reads the enterprise extension: department (the team) and
// manager.value (a SCIM id in the same file, or an email).
func (d *scimDoc) enterprise(n *jsonNode, p string) (team, manager str) {
	readManager := func(m *jsonNode, mp string) {
		if d.fields(m, mp, "manager", map[string]*str{"value": &manager}, nil, "$ref", "displayname") && !manager.Set {
			d.errf(m, mp, "manager has no value")
		}
	}
	d.fields(n, p, "enterprise", map[string]*str{"department": &team}, map[string]func(*jsonNode, string){"manager": readManager},
		"employeenumber", "costcenter", "organization", "division")
	return team, manager
}

// nhiscanHR reads nhiscan's extension: departedOn and githubLogin.
func (d *scimDoc) nhiscanHR(n *jsonNode, p string) (departed, github str) {
	d.fields(n, p, "nhiscan HR", map[string]*str{"departedon": &departed, "githublogin": &github}, nil)
	return departed, github
}

// people resolves managers given as SCIM ids and validates each user as a
// person, with the inline people's checks.
func (d *scimDoc) people() []personDef {
	byID := map[string]string{}
	for _, u := range d.users {
		if !u.scimID.Set {
			continue
		}
		if _, dup := byID[u.scimID.V]; dup {
			d.errs.add(u.scimID.P, "%s.id: duplicate SCIM id %q", u.path, u.scimID.V)
			continue
		}
		byID[u.scimID.V] = u.fp.ID.V
	}
	l := &loader{}
	var out []personDef
	for _, u := range d.users {
		if u.manager.Set {
			u.fp.Manager = u.manager
			if email, ok := byID[u.manager.V]; ok {
				u.fp.Manager.V = email
			} else if _, ok := normEmail(u.manager.V); !ok {
				d.errs.add(u.manager.P, "%s: manager %q is neither the id of a user in this file nor an email address", u.path, u.manager.V)
				u.fp.Manager = str{}
			}
		}
		n := len(l.errs.es)
		pd, ok := l.person(u.fp)
		for i := n; i < len(l.errs.es); i++ {
			l.errs.es[i].Msg = u.path + ": " + jsonWording.Replace(l.errs.es[i].Msg)
		}
		if ok {
			out = append(out, pd)
		}
	}
	d.errs.es = append(d.errs.es, l.errs.es...)
	return out
}

var jsonWording = strings.NewReplacer(
	"person has no id (their email address)", "user has no email (emails[].value, or userName as an email address)",
	"person id ", "email ",
	"bad date ", "departedOn: bad date ",
)
