package verdict_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

// twoVendorSite deploys acme and other, which share the role names agent
// and server, with each vendor's hosts apart.
const twoVendorSite = `schema: 2
site: two
vendors: [acme, other]
roles:
  acme/agent: [10.1.0.0/24]
  other/agent: [10.5.0.0/24]
  acme/server: [10.0.0.10]
  other/server: [10.6.0.10]
  phone: [10.3.0.0/24]
allow:
  - {name: other-agents-to-acme, from: other/agent, to: acme/server, transport: tcp, ports: 9999, app: x}
  - {name: any-agent-to-other, from: agent, to: other/server, transport: tcp, ports: 9998, app: x}
`

// Entries match only roles of their own vendor; attribution is always the
// matching vendor's.
func TestVendorScopedRoles(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadInventoryText(t, cat, twoVendorSite)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, client, server string
		want                 want
		vendor               string
	}{
		{"acme agent to acme notifier", "10.1.0.5:50000", "10.0.0.10:5597",
			want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog, from: "acme/agent", to: "acme/server"}, "acme"},
		{"other agent to acme notifier", "10.5.0.5:50000", "10.0.0.10:5597",
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "acme/notifier", severity: verdict.Medium, reason: "not between these hosts' roles"}, "acme"},
		{"acme agent to other web", "10.1.0.5:50000", "10.6.0.10:8080",
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "other/web", severity: verdict.Medium}, "other"},
		{"other agent to other web", "10.5.0.5:50000", "10.6.0.10:8080",
			want{verdict: verdict.Expected, entry: "other/web", by: verdict.ByCatalog, from: "other/agent", to: "other/server"}, "other"},
		{"other agent to acme server on other's port", "10.5.0.5:50000", "10.0.0.10:8080",
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "other/web", severity: verdict.Medium}, "other"},
		{"unqualified phone is acme's, the one vendor that has it", "10.3.0.7:5060", "10.0.0.10:5060",
			want{verdict: verdict.Expected, entry: "acme/sip", by: verdict.ByCatalog, from: "phone", to: "acme/server"}, "acme"},
		{"an allow rule names another vendor's role", "10.5.0.5:50000", "10.0.0.10:9999",
			want{verdict: verdict.Expected, entry: "site/other-agents-to-acme", by: verdict.ByCatalog, from: "other/agent", to: "acme/server"}, "site"},
		{"the allow rule's qualified role excludes acme agents", "10.1.0.5:50000", "10.0.0.10:9999",
			want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "site/other-agents-to-acme", severity: verdict.Medium}, "site"},
		{"an unqualified name in an allow rule is every vendor's", "10.1.0.5:50000", "10.6.0.10:9998",
			want{verdict: verdict.Expected, entry: "site/any-agent-to-other", by: verdict.ByCatalog, from: "acme/agent"}, "site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r verdict.Result
			cl.Classify(play(t, tcp, tt.client, tt.server, handshake), &r)
			check(t, &r, tt.want)
			if r.Vendor != tt.vendor {
				t.Errorf("vendor %q, want %q", r.Vendor, tt.vendor)
			}
		})
	}
}

func TestScopeErrors(t *testing.T) {
	cat := loadTestCatalog(t)
	for _, tt := range []struct {
		name, inv, want string
	}{
		{"shared name, schema 2", "schema: 2\nsite: s\nvendors: [acme, other]\nroles:\n  agent: [10.1.0.0/24]\n",
			`role "agent" is a role of several deployed vendors; did you mean "acme/agent" or "other/agent"?`},
		{"typo in a qualified role", "schema: 2\nsite: s\nvendors: [acme]\nroles:\n  acme/agnet: [10.1.0.0/24]\n",
			`acme has no role "agnet"; did you mean "acme/agent"?`},
		{"vendor not deployed", "schema: 2\nsite: s\nvendors: [acme]\nroles:\n  other/agent: [10.1.0.0/24]\n",
			`vendor other is not deployed`},
		{"qualified role in schema 1", "schema: 1\nsite: s\nvendors: [acme]\nroles:\n  acme/agent: [10.1.0.0/24]\n",
			`need schema: 2`},
		{"standby in schema 1", "schema: 1\nsite: s\nvendors: [acme]\nstandby: [10.0.0.10]\nroles:\n  server: [10.0.0.10]\n",
			`standby needs schema: 2`},
		{"standby host without a role", "schema: 2\nsite: s\nvendors: [acme]\nstandby: [10.0.0.11]\nroles:\n  server: [10.0.0.10]\n",
			`10.0.0.11 is not a host of any role`},
		{"schema 3", "schema: 3\nsite: s\nvendors: [acme]\nroles:\n  server: [10.0.0.10]\n", "inventory schema 1 and 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := catalog.ReadInventory(strings.NewReader(tt.inv), "s.yaml")
			if err == nil {
				err = inv.Check(cat)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if inv != nil {
				if _, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv}); err == nil && strings.Contains(tt.want, "did you mean") {
					t.Errorf("NewClassifier accepted the inventory")
				}
			}
		})
	}
	// Schema 1 keeps its single namespace: a shared name is every deployed
	// vendor's role of that name.
	inv := loadInventoryText(t, cat, "schema: 1\nsite: s\nvendors: [acme, other]\nroles:\n  agent: [10.1.0.0/24]\n  server: [10.0.0.10]\n")
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	var r verdict.Result
	for _, port := range []string{"5597", "8080"} {
		cl.Classify(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:"+port, handshake), &r)
		if r.Verdict != verdict.Expected {
			t.Errorf("schema 1, port %s: %v %s", port, r.Verdict, r.Reason)
		}
	}
}

// A Sinch MRS is a contact center server for the "Internal" ports: the
// vendor's implies says so, not an unwritten convention.
func TestRoleImplications(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv := loadInventoryText(t, cat, `schema: 2
site: s
vendors: [sinch-contact-center]
roles:
  mrs: [10.4.0.7]
  agent-server: [10.4.0.8]
  workstation: [10.4.1.0/24]
`)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		client string
		want   verdict.Verdict
	}{
		{"10.4.0.7:40000", verdict.Expected},    // mrs implies cc-server
		{"10.4.1.5:40000", verdict.Unexpected},  // a workstation is not a server
		{"10.4.0.99:40000", verdict.Unexpected}, // unknown host
	} {
		var r verdict.Result
		cl.Classify(play(t, tcp, tt.client, "10.4.0.8:21018", handshake), &r)
		if r.Verdict != tt.want {
			t.Errorf("%s -> agent server 21018: %v (%s), want %v", tt.client, r.Verdict, r.Reason, tt.want)
		}
		if tt.want == verdict.Expected && (r.EntryID != "sinch-contact-center/agent-server" || r.FromRole != "cc-server") {
			t.Errorf("%s: entry %s from %s", tt.client, r.EntryID, r.FromRole)
		}
	}
}

// Negotiated media landing in a fixed documented range is credited to
// that entry (evidence sdp) and counts as working for it.
func TestNegotiatedMediaCredited(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadInventoryText(t, cat, standbyInventory)
	tests := []struct {
		name, client, server string
		media                uint16
		want                 want
	}{
		{"in the desktop RTP range", "10.3.0.7:40000", "10.0.0.10:5006", 5006,
			want{verdict: verdict.Negotiated, entry: "acme/cdt-rtp", by: verdict.BySDP, from: "phone", to: "server", reason: "in the documented range"}},
		{"odd port: RTCP", "10.3.0.7:40001", "10.0.0.10:5007", 5007,
			want{verdict: verdict.Negotiated, entry: "acme/cdt-rtcp", by: verdict.BySDP, from: "phone", to: "server"}},
		{"range on the originator's side", "10.0.0.10:5008", "10.3.0.7:40000", 5008,
			want{verdict: verdict.Negotiated, entry: "acme/cdt-rtp", by: verdict.BySDP, from: "server", to: "phone"}},
		{"roles the entry does not draw", "10.1.0.5:40000", "10.0.0.10:5006", 5006,
			want{verdict: verdict.Negotiated, by: verdict.BySDP, reason: "no catalog entry covers these hosts' roles"}},
		{"outside every fixed range: the dynamic entry, judged for range", "10.3.0.7:40000", "10.0.0.10:5040", 5040,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, entry: "acme/media", by: verdict.BySDP, severity: verdict.Medium, reason: "outside the range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Media: fakeMedia{tt.media}, Expect: []string{"acme/cdt-*"}})
			if err != nil {
				t.Fatal(err)
			}
			fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
			var r verdict.Result
			f := play(t, udp, tt.client, tt.server, exchange)
			cl.Classify(f, &r)
			check(t, &r, tt.want)
			fs.Observe(f, &r)
			fs.Finish(0)
			for _, g := range fs.All() {
				if g.Kind == verdict.KindMissing && g.EntryID == tt.want.entry {
					t.Errorf("%s reported missing although its media worked", g.EntryID)
				}
			}
		})
	}
}

// altCatalog states alternatives, options, conditions and peers.
const altCatalog = `schema: 1
vendor:
  id: alt
  name: Alternatives
  document: alt.txt
  defaults: {section: Ports}
  roles: {server: call server, db: database, comp: component server, cc: any component server, agent: agent PC}
  implies: {comp: cc}
  options:
    - {name: database, values: [oracle, mssql]}
    - {name: irrcs, values: ["yes", "no"], default: "no"}
entries:
  - {id: oracle, component: Oracle, from: server, to: db, transport: tcp, ports: 1521, app: sql, one_of: database, required_when: {database: oracle}}
  - {id: mssql, component: MS SQL, from: server, to: db, transport: tcp, ports: 1433, app: sql, one_of: database, required_when: {database: mssql}}
  - {id: fetch, component: Fetch, from: server, to: db, transport: tcp, ports: 445, app: smb, required_when: {irrcs: "no"}}
  - {id: switch, component: Switchover, from: server, to: server, transport: tcp, ports: 3633, app: sw, peers: any}
  - {id: internal, component: Internal, from: cc, to: comp, transport: tcp, ports: 21000, app: x, peers: any-from}
  - {id: notify, component: Notifier, from: agent, to: server, transport: tcp, ports: 5597, app: tls}
  - {id: mesh, component: Cluster, from: comp, to: comp, transport: tcp, ports: 7000, app: x, peers: all}
  - {id: ldap, component: Directory, from: server, to: server, transport: tcp, ports: 389, app: ldap}
`

func TestRequiredAsDocumented(t *testing.T) {
	cat, err := catalog.Load(strings.NewReader(altCatalog), "alt.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const base = "schema: 2\nsite: s\nvendors: [alt]\nroles:\n  server: [10.0.0.1, 10.0.0.2, 10.0.0.3]\n  db: [10.0.0.9]\n  comp: [10.0.1.1, 10.0.1.2]\n  agent: [10.1.0.0/24, 10.2.0.0/24]\n"
	// Flows every scenario sees unless it says otherwise.
	common := [][2]string{
		{"10.0.0.1:40000", "10.0.0.9:445"},
		{"10.0.0.2:40000", "10.0.0.9:445"},
		{"10.0.0.3:40000", "10.0.0.9:445"},
		{"10.0.0.1:40000", "10.0.0.2:3633"},
		{"10.0.0.3:40000", "10.0.0.2:3633"},
		{"10.0.1.1:40000", "10.0.1.2:21000"},
		{"10.0.1.2:40000", "10.0.1.1:21000"},
		{"10.0.1.1:40000", "10.0.1.2:7000"},
		{"10.0.0.1:40000", "10.0.0.2:389"},
		{"10.0.0.3:40000", "10.0.0.1:389"},
		{"10.1.0.5:40000", "10.0.0.1:5597"},
		{"10.1.0.5:40000", "10.0.0.2:5597"},
		{"10.1.0.5:40000", "10.0.0.3:5597"},
		{"10.2.0.5:40000", "10.0.0.1:5597"},
		{"10.2.0.5:40000", "10.0.0.2:5597"},
		{"10.2.0.5:40000", "10.0.0.3:5597"},
	}
	db := func(port string) [][2]string {
		return [][2]string{{"10.0.0.1:40000", "10.0.0.9:" + port}, {"10.0.0.2:40000", "10.0.0.9:" + port}, {"10.0.0.3:40000", "10.0.0.9:" + port}}
	}
	without := func(drop ...[2]string) [][2]string {
		return slices.DeleteFunc(slices.Clone(common), func(f [2]string) bool { return slices.Contains(drop, f) })
	}
	tests := []struct {
		name  string
		extra string // inventory lines
		flows [][2]string
		want  []string // "entry: pairs"
	}{
		{"undeclared database: oracle suffices", "", append(common, db("1521")...), nil},
		{"undeclared database: mssql suffices", "", append(common, db("1433")...), nil},
		{"undeclared database: neither", "", common,
			[]string{"alt/oracle: 10.0.0.1 -> 10.0.0.9; 10.0.0.2 -> 10.0.0.9; 10.0.0.3 -> 10.0.0.9"}},
		{"one server uses oracle, two mssql: per pair, any alternative", "", append(append(common, db("1433")[:2]...), db("1521")[2]), nil},
		{"mssql declared: oracle flows do not satisfy it", "options: {alt/database: mssql}\n", append(common, db("1521")...),
			[]string{"alt/mssql: 10.0.0.1 -> 10.0.0.9; 10.0.0.2 -> 10.0.0.9; 10.0.0.3 -> 10.0.0.9"}},
		{"mssql declared and used", "options: {alt/database: mssql}\n", append(common, db("1433")...), nil},
		{"irrcs default no: fetch required", "", append(without(common[1]), db("1433")...),
			[]string{"alt/fetch: 10.0.0.2 -> 10.0.0.9"}},
		{"irrcs yes: fetch not required", "options: {alt/irrcs: \"yes\"}\n", append(without(common[:3]...), db("1433")...), nil},
		{"peers any: a server without any switchover peer", "", append(without(common[4]), db("1433")...),
			[]string{"alt/switch: 10.0.0.3 <-> any peer"}},
		{"standby server excused from notifier but still a switchover peer", "standby: [10.0.0.3]\n",
			append(without(common[4], common[12], common[15]), db("1433")...),
			[]string{"alt/switch: 10.0.0.3 <-> any peer"}},
		{"one agent subnet silent towards one server", "", append(without(common[14]), db("1433")...),
			[]string{"alt/notify: 10.2.0.0/24 -> 10.0.0.2"}},
		{"any-from: each component reached by some server", "", append(without(common[5]), db("1433")...),
			[]string{"alt/internal: any cc -> 10.0.1.2"}},
		{"peers all: the full mesh", "", append(without(common[7]), db("1433")...),
			[]string{"alt/mesh: 10.0.1.1 -> 10.0.1.2"}},
		{"default peers: each server needs one directory peer, not all", "", append(without(common[9]), db("1433")...),
			[]string{"alt/ldap: 10.0.0.3 <-> any peer"}},
		{"default peers: a standby server is excused", "standby: [10.0.0.3]\n", append(without(common[9], common[12], common[15]), db("1433")...),
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := loadInventoryText(t, cat, base+tt.extra)
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
			if err != nil {
				t.Fatal(err)
			}
			fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
			var r verdict.Result
			for _, f := range tt.flows {
				fl := play(t, tcp, f[0], f[1], handshake)
				cl.Classify(fl, &r)
				if r.Verdict != verdict.Expected {
					t.Fatalf("%s -> %s: %v %s", f[0], f[1], r.Verdict, r.Reason)
				}
				fs.Observe(fl, &r)
			}
			fs.Finish(0)
			var got []string
			for _, g := range fs.All() {
				if g.Kind != verdict.KindMissing {
					t.Errorf("finding %s %s", g.Kind, g.EntryID)
					continue
				}
				got = append(got, g.EntryID+": "+strings.Join(g.HostPairs, "; "))
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("missing:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

var _ = flow.ProtoTCP

// The Genesys catalog states the database engine, the Media Server's
// install variant and the phone models as alternatives: a site declaring
// its variant is required only what that variant needs.
func TestGenesysVariants(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	const site = `schema: 2
site: g
vendors: [genesys-pureconnect]
roles:
  cic-server: [10.0.0.10]
  sql-server: [10.0.0.5]
  media-server: [10.0.0.20]
  workstation: [10.1.0.0/24]
`
	flows := map[string][2]string{
		"mssql":       {"10.0.0.10:40000", "10.0.0.5:1433"},
		"oracle":      {"10.0.0.10:40000", "10.0.0.5:1521"},
		"ws-mssql":    {"10.1.0.5:40000", "10.0.0.5:1433"},
		"ws-oracle":   {"10.1.0.5:40000", "10.0.0.5:1521"},
		"sw-http":     {"10.1.0.5:40000", "10.0.0.20:8084"},
		"sw-https":    {"10.1.0.5:40000", "10.0.0.20:443"},
		"packed-http": {"10.1.0.5:40000", "10.0.0.20:8083"},
	}
	expect := []string{"genesys-pureconnect/oracle-sql", "genesys-pureconnect/mssql", "genesys-pureconnect/media-server-web-*"}
	for _, tt := range []struct {
		name, options string
		flows         []string
		want          []string
	}{
		{"declared mssql and software only, both seen", "options:\n  genesys-pureconnect/database: mssql\n  genesys-pureconnect/media-server: software-only\n",
			[]string{"mssql", "ws-mssql", "sw-http", "sw-https"}, nil},
		{"undeclared: either variant satisfies, even per pair", "", []string{"oracle", "ws-mssql", "packed-http", "sw-https"}, nil},
		// The web interface's four ports (two variants, each HTTP or
		// HTTPS) are one group: one finding, naming the others.
		{"undeclared, nothing seen: one finding per group", "", nil,
			[]string{"genesys-pureconnect/media-server-web-http-packaged", "genesys-pureconnect/oracle-sql"}},
		{"declared software only, its HTTPS alone seen", "options:\n  genesys-pureconnect/database: mssql\n  genesys-pureconnect/media-server: software-only\n",
			[]string{"mssql", "ws-mssql", "sw-https"}, nil},
		{"declared packaged, its HTTP alone seen", "options:\n  genesys-pureconnect/database: mssql\n  genesys-pureconnect/media-server: packaged\n",
			[]string{"mssql", "ws-mssql", "packed-http"}, nil},
		{"declared oracle, mssql seen", "options:\n  genesys-pureconnect/database: oracle\n  genesys-pureconnect/media-server: software-only\n",
			[]string{"mssql", "ws-mssql", "sw-http", "sw-https"}, []string{"genesys-pureconnect/oracle-sql"}},
		{"declared packaged, software only seen", "options:\n  genesys-pureconnect/media-server: packaged\n",
			[]string{"mssql", "ws-mssql", "sw-http", "sw-https"}, []string{"genesys-pureconnect/media-server-web-http-packaged"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv := loadInventoryText(t, cat, site+tt.options)
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Expect: expect})
			if err != nil {
				t.Fatal(err)
			}
			fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
			var r verdict.Result
			// A flow nobody expects, so the window is never empty.
			fl := play(t, tcp, "10.1.0.5:40000", "10.0.0.10:3952", handshake)
			cl.Classify(fl, &r)
			fs.Observe(fl, &r)
			for _, name := range tt.flows {
				fl := play(t, tcp, flows[name][0], flows[name][1], handshake)
				cl.Classify(fl, &r)
				if r.Verdict != verdict.Expected {
					if strings.HasPrefix(name, "ws-") {
						continue // the database entries no longer draw workstations
					}
					t.Fatalf("%s: %v %s", name, r.Verdict, r.Reason)
				}
				fs.Observe(fl, &r)
			}
			fs.Finish(0)
			var got []string
			for _, g := range fs.All() {
				if g.Kind == verdict.KindMissing {
					got = append(got, g.EntryID)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("missing %v, want %v", got, tt.want)
			}
		})
	}
}

// The Sinch MRS recording area is required only where the site records on
// the server ("Server-side recording and NAT services require relaying all
// voice streams to a MRS server"): undeclared, the option's default says it
// does not; a recording-area flow is allowed either way.
func TestSinchServerSideRecording(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	const site = `schema: 2
site: s
vendors: [sinch-contact-center]
roles:
  mrs: [10.0.0.20]
  agent-server: [10.0.0.10]
  workstation: [10.1.0.0/24]
  pstn-gateway: [198.51.100.5]
`
	for _, tt := range []struct {
		name, options string
		want          []string
	}{
		{"undeclared: not required", "", nil},
		{"declared disabled", "options:\n  sinch-contact-center/server-side-recording: disabled\n", nil},
		{"declared enabled", "options:\n  sinch-contact-center/server-side-recording: enabled\n",
			[]string{"sinch-contact-center/mrs-recording: any workstation,pstn-gateway -> 10.0.0.20"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv := loadInventoryText(t, cat, site+tt.options)
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv, Expect: []string{"sinch-contact-center/mrs-*"}})
			if err != nil {
				t.Fatal(err)
			}
			fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
			var r verdict.Result
			// The gateway's media in the prompt area; the recording area
			// sees none.
			fl := play(t, udp, "198.51.100.5:30000", "10.0.0.20:8100", exchange)
			cl.Classify(fl, &r)
			if r.Verdict != verdict.Expected || r.EntryID != "sinch-contact-center/mrs-prompts" {
				t.Fatalf("prompt area: %v %s %s", r.Verdict, r.EntryID, r.Reason)
			}
			fs.Observe(fl, &r)
			// Recording-area media is allowed whatever the option says.
			rec := play(t, udp, "198.51.100.5:30002", "10.0.0.20:9050", exchange)
			cl.Classify(rec, &r)
			if r.Verdict != verdict.Expected || r.EntryID != "sinch-contact-center/mrs-recording" {
				t.Errorf("recording area: %v %s %s", r.Verdict, r.EntryID, r.Reason)
			}
			fs.Finish(0)
			var got []string
			for _, g := range fs.All() {
				if g.Kind == verdict.KindMissing {
					got = append(got, g.EntryID+": "+strings.Join(g.HostPairs, "; "))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("missing %q, want %q", got, tt.want)
			}
		})
	}
}
