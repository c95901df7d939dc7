package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Error is one problem in a catalog or inventory file, located by line and
// column so an editor can jump to it.
type Error struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// ErrorList is every problem found in one or more files. Loaders report all
// problems they can find at once rather than stopping at the first.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Problems flattens err into its located problems; an error that is not a
// catalog Error becomes one problem without position.
func Problems(err error) []*Error {
	if err == nil {
		return nil
	}
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return []*Error{{Msg: err.Error()}}
}

// doc is a parsed YAML file kept for locating problems found after decoding.
// A doc without a file (data decoded at generate time) locates nothing:
// its problems name the file only.
type doc struct {
	name string
	file *ast.File
	errs ErrorList
}

// maxRecoveries bounds how many broken lines decodeStrict skips to find
// the problems after them.
const maxRecoveries = 50

// decodeStrict parses data and decodes it into v, rejecting unknown fields
// and duplicate keys. The returned doc locates later problems by path.
//
// A syntax error or a field the schema does not know stops a YAML decoder
// at the first one, which would hide every other problem of the file. So
// each such problem is recorded in the doc, its line is blanked (line
// numbers stay) and the file decoded again, until it decodes or the lines
// run out; the caller's own checks then add theirs, and the doc's result
// lists them all. A line blanked this way may make the checks report a
// field missing: the first problem on a line is the one to fix.
func decodeStrict(data []byte, name string, v any) (*doc, error) {
	var skipped ErrorList
	lines := strings.SplitAfter(string(data), "\n")
	for attempt := 0; ; attempt++ {
		// A failed attempt may have filled part of v.
		reflect.ValueOf(v).Elem().SetZero()
		d, err := decodeOnce([]byte(strings.Join(lines, "")), name, v)
		if err == nil {
			d.errs = skipped
			return d, nil
		}
		var l ErrorList
		errors.As(err, &l)
		if len(l) != 1 || l[0].Line <= 0 || l[0].Line > len(lines) || attempt >= maxRecoveries ||
			strings.TrimSpace(lines[l[0].Line-1]) == "" {
			return nil, append(skipped, l...)
		}
		bad := l[0].Line - 1
		// A flow list or quote left open is reported on the next line:
		// the open one is the line to skip.
		for prev := bad - 1; prev >= 0; prev-- {
			if strings.TrimSpace(lines[prev]) == "" {
				continue
			}
			if unbalanced(lines[prev]) {
				bad = prev
				l[0].Line, l[0].Column = prev+1, 1
			}
			break
		}
		skipped = append(skipped, l[0])
		if strings.HasSuffix(lines[bad], "\n") {
			lines[bad] = "\n"
		} else {
			lines[bad] = ""
		}
	}
}

// unbalanced reports whether a line opens more brackets or braces than it
// closes, or leaves a quote open (comments and quoted text aside).
func unbalanced(line string) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' '):
			return depth > 0
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
	}
	return depth > 0 || quote != 0
}

func decodeOnce(data []byte, name string, v any) (*doc, error) {
	var f *ast.File
	err := guardYAML(func() (err error) {
		f, err = parser.ParseBytes(data, 0)
		return err
	})
	if err != nil {
		return nil, ErrorList{yamlError(name, err)}
	}
	d := &doc{name: name, file: f}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, ErrorList{{File: name, Line: 1, Column: 1, Msg: "want exactly one non-empty YAML document"}}
	}
	// Decoding the tree already parsed, rather than the bytes again, halves
	// the cost of loading the catalog or inventory.
	if err := guardYAML(func() error { return yaml.NodeToValue(f.Docs[0].Body, v, yaml.Strict()) }); err != nil {
		return nil, ErrorList{yamlError(name, err)}
	}
	return d, nil
}

// guardYAML turns a panic of the YAML library into an error. go-yaml
// v1.19.2, the newest release served here, dereferences nil on some
// malformed files instead of reporting them, such as an unknown tag on a
// list (goccy/go-yaml#735, fixed upstream after that release; FuzzLoad
// found it). A bad site file must be reported, not crash the auditor.
func guardYAML(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this file (%v); check its tags and structure", r)
		}
	}()
	return fn()
}

func yamlError(name string, err error) *Error {
	var ne *nodeError
	if errors.As(err, &ne) {
		e := &Error{File: name, Msg: ne.msg}
		if ne.tok != nil && ne.tok.Position != nil {
			e.Line, e.Column = ne.tok.Position.Line, ne.tok.Position.Column
		}
		return e
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &Error{File: name, Msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
		return e
	}
	return &Error{File: name, Msg: err.Error()}
}

// errorf records a problem at the node reached by path (map keys as
// strings, sequence indices as ints), or at its nearest existing ancestor.
func (d *doc) errorf(path []any, format string, args ...any) {
	e := &Error{File: d.name, Msg: fmt.Sprintf(format, args...)}
	if n := d.nodeAt(path); n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
	}
	d.errs = append(d.errs, e)
}

// result returns the problems found, in file order, or nil.
func (d *doc) result() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *Error) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	})
	return d.errs
}

// nodeAt returns the node reached by path, or its nearest existing
// ancestor; nil when d has no YAML tree.
func (d *doc) nodeAt(path []any) ast.Node {
	if d.file == nil || len(d.file.Docs) == 0 {
		return nil
	}
	var n ast.Node = d.file.Docs[0].Body
	for _, step := range path {
		next := child(n, step)
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

func child(n ast.Node, step any) ast.Node {
	n = unwrap(n)
	switch step := step.(type) {
	case keyStep:
		if mv := mappingValue(n, string(step)); mv != nil {
			return mv.Key
		}
	case string:
		if mv := mappingValue(n, step); mv != nil {
			if mv.Value == nil {
				return mv.Key
			}
			return mv.Value
		}
	case int:
		if s, ok := n.(*ast.SequenceNode); ok && step >= 0 && step < len(s.Values) {
			return s.Values[step]
		}
	}
	return nil
}

// keyStep is a path step that stops at a mapping key rather than its value,
// for problems with the key itself (an unknown role or parameter name).
type keyStep string

func mappingValue(n ast.Node, key string) *ast.MappingValueNode {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		// The parser represents a one-pair mapping by the pair itself.
		values = []*ast.MappingValueNode{m}
	}
	for _, mv := range values {
		if k := mv.Key.GetToken(); k != nil && k.Value == key {
			return mv
		}
	}
	return nil
}

// path builds a node path; it exists so call sites read as paths.
func path(steps ...any) []any { return steps }

// scalars is a YAML value that may be one scalar or a list of scalars; ints
// and strings both become strings, so "ports: 5060" and "ports: [5060,
// 5061]" read the same.
type scalars []string

// nodeError is a decoding error raised by our own unmarshalers, located at
// the offending node.
type nodeError struct {
	tok *token.Token
	msg string
}

func (e *nodeError) Error() string { return e.msg }

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (s *scalars) UnmarshalYAML(n ast.Node) error {
	n = unwrap(n)
	if n == nil || n.Type() == ast.NullType {
		*s = nil
		return nil
	}
	if seq, ok := n.(*ast.SequenceNode); ok {
		out := make([]string, 0, len(seq.Values))
		for _, v := range seq.Values {
			str, err := scalarString(unwrap(v))
			if err != nil {
				return err
			}
			out = append(out, str)
		}
		*s = out
		return nil
	}
	str, err := scalarString(n)
	if err != nil {
		return err
	}
	*s = []string{str}
	return nil
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.TagNode:
			n = t.Value
		case *ast.AnchorNode:
			n = t.Value
		default:
			return n
		}
	}
}

func scalarString(n ast.Node) (string, error) {
	sc, ok := n.(ast.ScalarNode)
	if !ok || n.Type() == ast.NullType {
		return "", &nodeError{tok: n.GetToken(), msg: "want a scalar or a list of scalars, got " + strings.ToLower(n.Type().String())}
	}
	switch v := sc.GetValue().(type) {
	case string:
		return v, nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value, nil
	}
	return "", &nodeError{tok: n.GetToken(), msg: "want a scalar"}
}
