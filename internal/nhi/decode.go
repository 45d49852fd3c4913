package nhi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on an inventory file (docs/inventory.md). Its nesting and the
// kind of every value are fixed by the form itself: a value of the wrong
// kind (a list where a string belongs, however deeply nested) is an error
// at the first byte that shows it.
const (
	// MaxInventorySize is the largest inventory Decode reads: about
	// 350,000 identities with 3 credentials and 10 grants each.
	MaxInventorySize = 1 << 30
	// maxProblems is how many problems Decode reports before it stops.
	maxProblems = 100
)

// maxInventorySize is MaxInventorySize; tests lower it.
var maxInventorySize = MaxInventorySize

// Decode reads an inventory in its JSON form. It is strict: a field the
// form does not define, a field name in another case ("VERSION"; Go's
// encoding/json would take it for "version"), a field given twice, a value
// of the wrong kind, a time that is not RFC 3339, invalid UTF-8 (which
// encoding/json would silently replace), trailing data, an unknown
// provider, status, kind, credential type, usage state, privilege, facet,
// gap kind, owner-hint source or signal code, and a missing version or
// collected_at are errors. Every problem found is reported at once (up to
// 100), each at its path in the file as written: "identities[3]
// (aws:AIDA…).credentials[0] (AKIA…).status", indices in file order. The
// result is normalised.
func Decode(r io.Reader) (Inventory, error) {
	var buf bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok && l.Len() <= maxInventorySize {
		buf.Grow(l.Len() + bytes.MinRead) // a bytes.Reader: read it in one go
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, int64(maxInventorySize)+1)); err != nil {
		return Inventory{}, fmt.Errorf("inventory: %w", err)
	}
	data := buf.Bytes()
	if len(data) > maxInventorySize {
		return Inventory{}, fmt.Errorf("inventory: over the size limit of %s for an inventory", sizeText(maxInventorySize))
	}
	if errs := checkJSON(data); len(errs) > 0 {
		return Inventory{}, fmt.Errorf("inventory: %w", errors.Join(errs...))
	}
	var inv Inventory
	if err := json.Unmarshal(data, &inv); err != nil {
		// checkJSON accepted it, so this is a bug rather than bad input.
		return Inventory{}, fmt.Errorf("inventory: %w", err)
	}
	var errs []error
	if inv.Version != SchemaVersion {
		errs = append(errs, fmt.Errorf("version %d: this nhiscan reads version %d (the field is required)", inv.Version, SchemaVersion))
	}
	if inv.CollectedAt.IsZero() {
		errs = append(errs, errors.New("collected_at is required"))
	}
	errs = append(errs, checkValues(&inv)...)
	if len(errs) == 0 {
		// Before Normalize: its indices are the file's.
		if err := inv.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return Inventory{}, fmt.Errorf("inventory: %w", errors.Join(errs...))
	}
	inv.Normalize()
	return inv, nil
}

func sizeText(n int) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Values of the fields whose Go type does not say what they may hold.
var (
	gapKinds = []GapKind{GapDenied, GapThrottled, GapTimeout, GapUnavailable, GapError}
	// hintSources are the owner-hint sources of the inventory form.
	hintSources = []string{"tag", "label", "entra-owner", "github-added-by", "token-owner", "description"}
	// signalCodes are the signal codes of the inventory form: the
	// analyzer's and the Azure collector's "entra-sp-credential" (a
	// service principal's own credential, shown to reviewers).
	signalCodes = []string{SignalMixedUse, SignalWeakTrust, SignalExposed, SignalCloudSecretInCI, "entra-sp-credential"}
)

// checkValues checks the enumerated values Validate leaves alone, at
// their paths in file order.
func checkValues(inv *Inventory) []error {
	var errs []error
	bad := func(path, field, v string) {
		errs = append(errs, fmt.Errorf("%s.%s: unknown value %q", path, field, v))
	}
	for i, sc := range inv.Scopes {
		if !sc.Provider.Valid() {
			bad(fmt.Sprintf("scopes[%d] (%s)", i, sc.ID), "provider", string(sc.Provider))
		}
	}
	for i, g := range inv.Gaps {
		if !contains(gapKinds, g.Kind) {
			bad(fmt.Sprintf("gaps[%d]", i), "kind", string(g.Kind))
		}
	}
	for i, id := range inv.Identities {
		where := fmt.Sprintf("identities[%d] (%s)", i, id.ID)
		for j, h := range id.OwnerHints {
			if !contains(hintSources, h.Source) {
				bad(fmt.Sprintf("%s.owner_hints[%d]", where, j), "source", h.Source)
			}
		}
		for j, s := range id.Signals {
			if !contains(signalCodes, s.Code) {
				bad(fmt.Sprintf("%s.signals[%d]", where, j), "code", s.Code)
			}
		}
		for k, c := range id.Credentials {
			for j, s := range c.Signals {
				if !contains(signalCodes, s.Code) {
					bad(fmt.Sprintf("%s.credentials[%d] (%s).signals[%d]", where, k, c.ID, j), "code", s.Code)
				}
			}
		}
	}
	return errs
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ---- the strict JSON pass ----

// jsonCheck walks the raw JSON against the inventory's Go types, before
// encoding/json sees it, and records every problem with its path.
type jsonCheck struct {
	data []byte
	i    int
	errs []error
	path []segment
	// fatal is set by a syntax error: nothing after it can be read.
	fatal bool
}

// segment is one step of a path: a field (a map key when quoted), or an
// index in a list. label holds the id of the list element once read, so a
// problem names the identity (or credential, grant, scope) it is in, even
// when the id comes after the problem.
type segment struct {
	field  string
	quoted bool
	index  int // -1 for a field
	label  *string
}

var errTooMany = errors.New("too many problems")

func checkJSON(data []byte) []error {
	c := &jsonCheck{data: data}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if r != errTooMany { //nolint:errorlint // the sentinel itself
					panic(r)
				}
			}
		}()
		c.ws()
		c.value(inventoryType)
		c.ws()
		if !c.fatal && c.i < len(c.data) {
			c.syntax("trailing data after the JSON object")
		}
	}()
	return c.errs
}

var (
	inventoryType = reflect.TypeOf(Inventory{})
	timeType      = reflect.TypeOf(time.Time{})
	verdictType   = reflect.TypeOf(Verdict(0))
	stringType    = reflect.TypeOf("")
)

// renderPath renders a path: "identities[3] (aws:AIDA…).usage.state".
func renderPath(path []segment) string {
	var b strings.Builder
	for _, s := range path {
		if s.index < 0 {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			if s.quoted {
				b.WriteString(strconv.Quote(s.field))
			} else {
				b.WriteString(s.field)
			}
			continue
		}
		fmt.Fprintf(&b, "[%d]", s.index)
		if s.label != nil && *s.label != "" {
			fmt.Fprintf(&b, " (%s)", *s.label)
		}
	}
	if b.Len() == 0 {
		return "top level"
	}
	return b.String()
}

// problem records a problem at the current path. The path is rendered
// when the message is, so an element's id read after the problem still
// names it.
func (c *jsonCheck) problem(format string, args ...any) {
	path := append([]segment(nil), c.path...)
	c.errs = append(c.errs, &pathError{path: path, msg: fmt.Sprintf(format, args...)})
	if len(c.errs) >= maxProblems {
		c.errs = append(c.errs, fmt.Errorf("more than %d problems; stopped reading", maxProblems))
		panic(errTooMany)
	}
}

type pathError struct {
	path []segment
	msg  string
}

func (e *pathError) Error() string { return renderPath(e.path) + ": " + e.msg }

// syntax records a syntax error at the current byte and stops.
func (c *jsonCheck) syntax(format string, args ...any) {
	line, col := 1, 1
	for _, b := range c.data[:min(c.i, len(c.data))] {
		if b == '\n' {
			line, col = line+1, 1
		} else if b < 0x80 || b >= 0xc0 {
			col++
		}
	}
	c.errs = append(c.errs, fmt.Errorf("line %d, column %d (byte %d): %s", line, col, c.i, fmt.Sprintf(format, args...)))
	c.fatal = true
	panic(errTooMany)
}

func (c *jsonCheck) ws() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *jsonCheck) peek() byte {
	if c.i >= len(c.data) {
		c.syntax("unexpected end of the file")
	}
	return c.data[c.i]
}

// kind names the JSON value starting at the current byte.
func (c *jsonCheck) kind() string {
	switch b := c.peek(); {
	case b == '{':
		return "an object"
	case b == '[':
		return "a list"
	case b == '"':
		return "a string"
	case b == 't' || b == 'f':
		return "true or false"
	case b == 'n':
		return "null"
	case b == '-' || (b >= '0' && b <= '9'):
		return "a number"
	}
	c.syntax("invalid character %q looking for a value", c.data[c.i])
	return ""
}

// value checks one value against t.
func (c *jsonCheck) value(t reflect.Type) {
	if c.peek() == 'n' { // null is the zero value, as encoding/json reads it
		c.literal("null")
		return
	}
	switch {
	case t == timeType:
		c.timeValue()
	case t == verdictType:
		c.want("true or false", c.kind() == "true or false")
	case t.Kind() == reflect.Struct:
		c.object(t)
	case t.Kind() == reflect.Map:
		c.mapValue()
	case t.Kind() == reflect.Slice:
		c.list(t.Elem())
	case t.Kind() == reflect.Pointer:
		c.value(t.Elem())
	case t.Kind() == reflect.String:
		c.want("a string", c.kind() == "a string")
	case t.Kind() == reflect.Bool:
		c.want("true or false", c.kind() == "true or false")
	case t.Kind() == reflect.Int:
		c.intValue()
	default:
		panic(fmt.Sprintf("nhi: no JSON check for %s", t))
	}
}

// want reads a scalar of the expected kind, or records that it is not
// and skips the value.
func (c *jsonCheck) want(what string, ok bool) {
	if !ok {
		c.problem("want %s, got %s", what, c.kind())
		c.skip()
		return
	}
	c.scalar()
}

func (c *jsonCheck) timeValue() {
	if c.kind() != "a string" {
		c.want("an RFC 3339 time", false)
		return
	}
	s := string(c.str())
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		c.problem("%q is not an RFC 3339 time", s)
	}
}

func (c *jsonCheck) intValue() {
	if c.kind() != "a number" {
		c.want("an integer", false)
		return
	}
	start := c.i
	c.number()
	if _, err := strconv.Atoi(string(c.data[start:c.i])); err != nil {
		c.problem("want an integer, got %s", c.data[start:c.i])
	}
}

// jsonField is one field of a struct in the JSON form.
type jsonField struct {
	name string
	t    reflect.Type
}

// fieldsOf maps a struct's JSON field names to their fields.
var fieldCache sync.Map // reflect.Type -> map[string]jsonField

func fieldsOf(t reflect.Type) map[string]jsonField {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]jsonField)
	}
	m := map[string]jsonField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" && f.IsExported() {
			m[name] = jsonField{name, f.Type}
		}
	}
	fieldCache.Store(t, m)
	return m
}

// object checks an object against struct type t: every field known, in
// its exact case, and given once.
func (c *jsonCheck) object(t reflect.Type) {
	if c.kind() != "an object" {
		c.want("an object", false)
		return
	}
	fields := fieldsOf(t)
	// A struct has a few known fields, and an unknown or repeated one is a
	// problem (Decode stops at 100), so a list stays short.
	var seen []string
	c.members(func(key []byte) {
		f, ok := fields[string(key)] // no allocation for a lookup
		if !ok {
			c.unknownField(string(key), fields)
			c.skip()
			return
		}
		if contains(seen, f.name) {
			c.problem("field %q given twice", f.name)
		}
		seen = append(seen, f.name)
		c.path = append(c.path, segment{field: f.name, index: -1})
		if f.name == "id" && c.kind() == "a string" && len(c.path) >= 2 && c.path[len(c.path)-2].label != nil {
			// The element's id labels it in paths.
			start := c.i
			*c.path[len(c.path)-2].label = string(c.str())
			c.i = start
		}
		c.value(f.t)
		c.path = c.path[:len(c.path)-1]
	})
}

func (c *jsonCheck) unknownField(key string, fields map[string]jsonField) {
	for name := range fields {
		if strings.EqualFold(name, key) {
			c.problem("unknown field %q (field names are case-sensitive: %q)", key, name)
			return
		}
	}
	c.problem("unknown field %q", key)
}

// mapValue checks an object of strings (tags, attributes).
func (c *jsonCheck) mapValue() {
	if c.kind() != "an object" {
		c.want("an object", false)
		return
	}
	seen := map[string]bool{}
	c.members(func(b []byte) {
		key := string(b)
		if seen[key] {
			c.problem("key %q given twice", key)
		}
		seen[key] = true
		c.path = append(c.path, segment{field: key, quoted: true, index: -1})
		c.value(stringType)
		c.path = c.path[:len(c.path)-1]
	})
}

// members reads an object's members, calling member with each key with
// the reader at its value (which member must consume).
func (c *jsonCheck) members(member func(key []byte)) {
	c.i++ // {
	c.ws()
	if c.peek() == '}' {
		c.i++
		return
	}
	for {
		c.ws()
		if c.peek() != '"' {
			c.syntax("want a field name in double quotes")
		}
		key := c.str()
		c.ws()
		if c.peek() != ':' {
			c.syntax("want ':' after the field name")
		}
		c.i++
		c.ws()
		member(key)
		c.ws()
		switch c.peek() {
		case ',':
			c.i++
		case '}':
			c.i++
			return
		default:
			c.syntax("want ',' or '}' after a field's value")
		}
	}
}

// list checks a list whose elements are of type elem.
func (c *jsonCheck) list(elem reflect.Type) {
	if c.kind() != "a list" {
		c.want("a list", false)
		return
	}
	c.i++ // [
	c.ws()
	if c.peek() == ']' {
		c.i++
		return
	}
	for n := 0; ; n++ {
		c.ws()
		c.path = append(c.path, segment{index: n, label: new(string)})
		c.value(elem)
		c.path = c.path[:len(c.path)-1]
		c.ws()
		switch c.peek() {
		case ',':
			c.i++
		case ']':
			c.i++
			return
		default:
			c.syntax("want ',' or ']' after a list element")
		}
	}
}

// scalar reads a string, number or literal (checked for syntax only).
func (c *jsonCheck) scalar() {
	switch b := c.peek(); {
	case b == '"':
		c.str()
	case b == 't':
		c.literal("true")
	case b == 'f':
		c.literal("false")
	case b == 'n':
		c.literal("null")
	default:
		c.number()
	}
}

func (c *jsonCheck) literal(word string) {
	if !bytes.HasPrefix(c.data[c.i:], []byte(word)) {
		c.syntax("invalid literal (want %s)", word)
	}
	c.i += len(word)
}

// number reads a JSON number.
func (c *jsonCheck) number() {
	start := c.i
	if c.i < len(c.data) && c.data[c.i] == '-' {
		c.i++
	}
	digits := func() int {
		n := 0
		for c.i < len(c.data) && c.data[c.i] >= '0' && c.data[c.i] <= '9' {
			c.i++
			n++
		}
		return n
	}
	intStart := c.i
	if n := digits(); n == 0 || (n > 1 && c.data[intStart] == '0') {
		c.i = start
		c.syntax("invalid number")
	}
	if c.i < len(c.data) && c.data[c.i] == '.' {
		c.i++
		if digits() == 0 {
			c.syntax("invalid number")
		}
	}
	if c.i < len(c.data) && (c.data[c.i] == 'e' || c.data[c.i] == 'E') {
		c.i++
		if c.i < len(c.data) && (c.data[c.i] == '+' || c.data[c.i] == '-') {
			c.i++
		}
		if digits() == 0 {
			c.syntax("invalid number")
		}
	}
}

// str reads a string and returns its value: a slice of the input when it
// has no escape (nothing is allocated), else the decoded bytes. Raw bytes
// must be valid UTF-8 and no control character; a \u escape must not be a
// lone UTF-16 surrogate (encoding/json would replace either with U+FFFD).
func (c *jsonCheck) str() []byte {
	c.i++ // "
	var b []byte
	start := c.i
	for {
		if c.i >= len(c.data) {
			c.syntax("unterminated string")
		}
		ch := c.data[c.i]
		switch {
		case ch == '"':
			c.i++
			if b == nil {
				return c.data[start : c.i-1]
			}
			return b
		case ch == '\\':
			if b == nil {
				b = append([]byte{}, c.data[start:c.i]...)
			}
			b = c.escape(b)
		case ch < 0x20:
			c.syntax("control character 0x%02x in a string (write it as \\u%04x)", ch, ch)
		case ch < utf8.RuneSelf:
			if b != nil {
				b = append(b, ch)
			}
			c.i++
		default:
			r, n := utf8.DecodeRune(c.data[c.i:])
			if r == utf8.RuneError && n <= 1 {
				c.syntax("invalid UTF-8 (byte 0x%02x) in a string", ch)
			}
			if b != nil {
				b = append(b, c.data[c.i:c.i+n]...)
			}
			c.i += n
		}
	}
}

// escape reads one backslash escape, appending what it stands for.
func (c *jsonCheck) escape(b []byte) []byte {
	if c.i+1 >= len(c.data) {
		c.syntax("unterminated string")
	}
	e := c.data[c.i+1]
	c.i += 2
	switch e {
	case '"', '\\', '/':
		return append(b, e)
	case 'b':
		return append(b, '\b')
	case 'f':
		return append(b, '\f')
	case 'n':
		return append(b, '\n')
	case 'r':
		return append(b, '\r')
	case 't':
		return append(b, '\t')
	case 'u':
		start := c.i - 2
		r := c.hex4()
		if utf16.IsSurrogate(r) {
			if r >= 0xdc00 || !bytes.HasPrefix(c.data[c.i:], []byte(`\u`)) {
				c.i = start
				c.syntax("lone UTF-16 surrogate \\u%04x in a string", r)
			}
			c.i += 2
			r2 := c.hex4()
			if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
				c.i = start
				c.syntax("lone UTF-16 surrogate \\u%04x in a string", r2)
			}
		}
		return utf8.AppendRune(b, r)
	}
	c.i -= 2
	c.syntax("invalid escape \\%c in a string", e)
	return b
}

func (c *jsonCheck) hex4() rune {
	if c.i+4 > len(c.data) {
		c.syntax("invalid \\u escape")
	}
	n, err := strconv.ParseUint(string(c.data[c.i:c.i+4]), 16, 32)
	if err != nil {
		c.syntax("invalid \\u escape")
	}
	c.i += 4
	return rune(n)
}

// skip reads past one value of any shape without recursion, so a value
// of the wrong kind costs no stack however deeply it nests. It checks
// brackets and scalars, not the commas and colons between them: the value
// is already a problem.
func (c *jsonCheck) skip() {
	depth := 0
	for {
		c.ws()
		switch c.peek() {
		case '{', '[':
			c.i++
			depth++
		case '}', ']':
			if depth == 0 {
				c.syntax("want a value")
			}
			c.i++
			depth--
		case ',', ':':
			if depth == 0 {
				c.syntax("want a value")
			}
			c.i++
		default:
			c.scalar()
		}
		if depth == 0 {
			return
		}
	}
}
