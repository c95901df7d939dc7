package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const userCatalog = `schema: 1
vendor:
  id: acme-ivr
  name: ACME IVR
  document: acme-ports.pdf
  defaults: {section: Ports}
  roles:
    ivr: ACME IVR node
    workstation: PC
parameters:
  - {name: first, default: 7000}
  - {name: streams, default: 10}
entries:
  - id: admin
    component: Admin UI
    from: workstation
    to: ivr
    transport: tcp
    ports: [9443]
    app: https
    tls: required
  - id: media
    component: Media
    from: ivr
    to: ivr
    direction: both
    transport: udp
    area: {first: first, count: streams, ports_per: 4}
    app: rtp
    tls: none
    required: false
`

func TestLoadUserCatalog(t *testing.T) {
	c, err := Load(strings.NewReader(userCatalog), "acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, ok := c.Entry("acme-ivr/admin")
	if !ok || !e.Ports.Contains(9443) || e.TLS != TLSRequired || !e.Configurable || !e.Required || e.Source.Section != "Ports" {
		t.Fatalf("admin entry: %+v", e)
	}
	m, _ := c.Entry("acme-ivr/media")
	if m.Area == nil || m.Ports.String() != "7000-7040" || m.Required {
		t.Fatalf("media entry: %+v ports %s", m, m.Ports)
	}
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	n := len(def.Entries())
	if err := def.Merge(c); err != nil {
		t.Fatal(err)
	}
	if len(def.Entries()) != n+2 || len(def.Vendors()) != 6 {
		t.Errorf("after merge: %d entries, %d vendors", len(def.Entries()), len(def.Vendors()))
	}
	if err := def.Merge(c); err == nil {
		t.Error("merging the same entries twice: want a duplicate-ID error")
	}
	if _, ok := def.Parameter("acme-ivr/streams"); !ok {
		t.Error("parameter acme-ivr/streams missing after merge")
	}
}

// DefaultWith is the built-in catalog plus the user files in order; a
// file that fails to load or clashes with what is already merged names
// itself, and each call starts from a fresh built-in catalog.
func TestDefaultWith(t *testing.T) {
	dir := t.TempDir()
	acme := filepath.Join(dir, "acme.yaml")
	if err := os.WriteFile(acme, []byte(userCatalog), 0o644); err != nil {
		t.Fatal(err)
	}
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	c, err := DefaultWith([]string{acme})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Entry("acme-ivr/admin"); !ok || len(c.Entries()) != len(def.Entries())+2 || len(c.Vendors()) != len(def.Vendors())+1 {
		t.Errorf("with acme: %d entries, %d vendors; want the built-in %d+2, %d+1", len(c.Entries()), len(c.Vendors()), len(def.Entries()), len(def.Vendors()))
	}
	if c, err := DefaultWith(nil); err != nil || len(c.Entries()) != len(def.Entries()) {
		t.Errorf("without files: %v, want the built-in catalog alone (a fresh one each call)", err)
	}
	if _, err := DefaultWith([]string{acme, acme}); err == nil || !strings.Contains(err.Error(), acme+": merge catalog: entry acme-ivr/admin is defined twice") {
		t.Errorf("the same file twice: %v, want the clash named by file", err)
	}
	missing := filepath.Join(dir, "nope.yaml")
	if _, err := DefaultWith([]string{missing}); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each problem, "line:col: text"
	}{
		{
			name: "unknown field",
			yaml: "schema: 1\nvendor: {id: x, document: d}\nentries:\n  - id: a\n    colour: red\n",
			want: []string{":5:5:", "unknown field"},
		},
		{
			name: "bad schema and vendor",
			yaml: "schema: 2\nvendor:\n  id: Bad_Id\n  document: d\nentries: []\n",
			want: []string{"t.yaml:1:9: schema: got 2", "t.yaml:3:7: vendor id \"Bad_Id\"", "has no entries"},
		},
		{
			name: "every entry problem reported",
			yaml: `schema: 1
vendor: {id: v, document: d, defaults: {section: S}}
entries:
  - id: a
    component: A
    from: x
    to: y
    transport: sctp
    ports: 5060
    app: sip
  - id: b
    component: B
    from: x
    to: y
    transport: tcp
    ports: [80, 70000]
    app: http
  - id: a
    component: A2
    from: x
    to: y
    transport: udp
    ports: 1
    app: x
    tls: maybe
`,
			want: []string{
				"t.yaml:8:16: entry v/a: transport \"sctp\"",
				"t.yaml:16:12: entry v/b: port \"70000\"",
				"t.yaml:25:10: tls \"maybe\"",
			},
		},
		{
			name: "undeclared role and missing fields",
			yaml: "schema: 1\nvendor: {id: v, document: d, roles: {a: A}}\nentries:\n  - id: e\n    from: a\n    to: b\n    transport: tcp\n    ports: 1\n",
			want: []string{"component is required", "t.yaml:6:9: entry v/e: role \"b\" is not declared", "app is required", "source needs document and section"},
		},
		{
			name: "area problems",
			yaml: "schema: 1\nvendor: {id: v, document: d, defaults: {section: S}}\nparameters: [{name: p, default: 60000}]\nentries:\n  - {id: e, component: C, from: a, to: b, transport: udp, app: rtp, area: {first: p, count: q, ports_per: 2}}\n",
			want: []string{"parameter \"q\" is not defined"},
		},
		{
			name: "syntax error",
			yaml: "schema: 1\nvendor: [\n",
			want: []string{"t.yaml:"},
		},
		{
			name: "duplicate key",
			yaml: "schema: 1\nschema: 1\n",
			want: []string{"t.yaml:2:1:"},
		},
		{
			// go-yaml v1.19.2 panics on an unknown tag on a list
			// (goccy/go-yaml#735); the panic must become a problem.
			name: "unknown tag on a list",
			yaml: "schema: 1\nentries:\n  !!00000000000 0000\n",
			want: []string{"t.yaml: the YAML decoder failed"},
		},
	}
	for _, tt := range tests {
		_, err := Load(strings.NewReader(tt.yaml), "t.yaml")
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		var list ErrorList
		if !errors.As(err, &list) {
			t.Errorf("%s: error %T is not an ErrorList", tt.name, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error\n%v\nlacks %q", tt.name, err, w)
			}
		}
	}
}

// Every embedded entry survives JSON and port-token round trips unchanged,
// so JSON output can be read back by other tools.
func TestRoundTrip(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Entries() {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("%s: %v", e.ID, err)
		}
		var back Entry
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: unmarshal %s: %v", e.ID, b, err)
		}
		if !reflect.DeepEqual(normalise(&back), normalise(e)) {
			t.Errorf("%s: JSON round trip changed the entry:\n got %+v\nwant %+v", e.ID, back, *e)
		}
		for _, ps := range []PortSet{e.Ports, e.FromPorts} {
			again, err := ParsePorts(ps.Tokens()...)
			if err != nil || !reflect.DeepEqual(normalisePorts(again), normalisePorts(ps)) {
				t.Errorf("%s: ports %s round-trip to %s (%v)", e.ID, ps, again, err)
			}
		}
	}
}

func normalise(e *Entry) Entry {
	cp := *e
	cp.Ports = normalisePorts(cp.Ports)
	cp.FromPorts = normalisePorts(cp.FromPorts)
	return cp
}

func normalisePorts(ps PortSet) PortSet {
	if len(ps.Ranges) == 0 {
		ps.Ranges = nil
	}
	return ps
}

// Every embedded file is valid on its own and under strict decoding.
func TestEmbeddedFilesLoad(t *testing.T) {
	files, err := DefaultFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("%d embedded files, want 5", len(files))
	}
	for name, data := range files {
		if !strings.HasPrefix(string(data), "schema: 1\n") {
			t.Errorf("%s: does not start with schema: 1", name)
		}
		if _, err := Load(strings.NewReader(string(data)), name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(userCatalog)
	f.Add("schema: 1\nvendor: {id: v}\nentries: [{id: a, ports: '1-2/odd'}]\n")
	f.Add("schema: 1\nentries: [[[")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Load(strings.NewReader(s), "fuzz.yaml")
		if err != nil {
			for _, p := range Problems(err) {
				if p.File != "fuzz.yaml" {
					t.Fatalf("problem %v does not name the file", p)
				}
			}
			return
		}
		ix := NewIndex(c.Entries())
		for _, e := range c.Entries() {
			for _, r := range e.Ports.Ranges {
				if got := ix.Lookup(protoTCP, r.Lo, nil); e.Transport&TCP != 0 && r.Contains(r.Lo) && !containsEntry(got, e) {
					t.Fatalf("%s: index misses port %d", e.ID, r.Lo)
				}
			}
		}
	})
}

func containsEntry(es []*Entry, e *Entry) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}
