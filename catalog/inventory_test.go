package catalog

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func loadExample(t testing.TB) (*Catalog, *Inventory) {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := LoadInventory("../testdata/site-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(c); err != nil {
		t.Fatalf("example inventory: %v", err)
	}
	return c, inv
}

func TestInventoryRoles(t *testing.T) {
	_, inv := loadExample(t)
	if inv.Site != "paris-dc1" || !inv.Deploys("sinch-contact-center") || inv.Deploys("tegsoft") || !inv.Deploys(SiteVendor) {
		t.Fatalf("site %q vendors %v", inv.Site, inv.Vendors)
	}
	tests := []struct {
		addr string
		want []string
	}{
		{"10.1.0.10", []string{"cic-server"}},
		{"10.20.3.4", []string{"console-client", "workstation"}},
		{"::ffff:10.20.3.4", []string{"console-client", "workstation"}},
		{"2001:db8:1::20", []string{"media-server"}},
		{"2001:db8:20:5::1", []string{"workstation"}},
		{"2001:db8:21::1", nil},
		{"10.2.0.50", []string{"cc-server", "mrs"}},
		{"10.1.0.12", nil},
		{"192.0.2.1", nil},
	}
	for _, tt := range tests {
		if got := inv.RolesOf(netip.MustParseAddr(tt.addr)); !slices.Equal(got, tt.want) {
			t.Errorf("RolesOf(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if got := inv.RolesOfName("DB1.paris.example.net."); !slices.Equal(got, []string{"sql-server"}) {
		t.Errorf("RolesOfName = %v", got)
	}
	if hs := inv.Hosts("media-server"); len(hs) != 3 || hs[2].String() != "2001:db8:1::20" {
		t.Errorf("Hosts(media-server) = %v", hs)
	}
	if n := testing.AllocsPerRun(100, func() { inv.RolesOf(netip.MustParseAddr("10.20.3.4")) }); n != 0 {
		t.Errorf("RolesOf allocates %v times", n)
	}
}

func TestInventoryEffectivePorts(t *testing.T) {
	c, inv := loadExample(t)
	notifier, _ := c.Entry("genesys-pureconnect/notifier-tls")
	prompts, _ := c.Entry("sinch-contact-center/mrs-prompts")
	recording, _ := c.Entry("sinch-contact-center/mrs-recording")
	for _, tt := range []struct {
		e    *Entry
		want string
	}{
		{notifier, "7597"},
		{prompts, "8000-8600"},    // 8000 + 2*300 from the inventory parameter
		{recording, "9000-10200"}, // documented defaults
	} {
		if got := inv.EffectivePorts(tt.e).String(); got != tt.want {
			t.Errorf("EffectivePorts(%s) = %s, want %s", tt.e.ID, got, tt.want)
		}
	}
	ix := NewIndex(append(slices.Clone(c.Entries()), inv.Allowed...), WithPorts(inv.EffectivePorts))
	if got := ids(ix.Lookup(protoTCP, 7597, nil)); !slices.Contains(got, "genesys-pureconnect/notifier-tls") {
		t.Errorf("site index tcp 7597 = %v", got)
	}
	if got := ids(ix.Lookup(protoTCP, 5597, nil)); slices.Contains(got, "genesys-pureconnect/notifier-tls") {
		t.Errorf("site index still has notifier-tls on 5597: %v", got)
	}
	if got := ids(ix.Lookup(protoUDP, 8600, nil)); !slices.Contains(got, "sinch-contact-center/mrs-prompts") {
		t.Errorf("site index udp 8600 = %v", got)
	}
	if got := ids(ix.LookupVendor(SiteVendor, protoTCP, 445, nil)); !slices.Equal(got, []string{"site/nightly-backup"}) {
		t.Errorf("site allow rule: %v", got)
	}
}

func TestInventoryIgnore(t *testing.T) {
	_, inv := loadExample(t)
	a := netip.MustParseAddr
	tests := []struct {
		src, dst string
		proto    uint8
		port     uint16
		want     bool
	}{
		{"10.1.0.10", "10.9.0.7", protoUDP, 514, true},
		{"10.1.0.10", "10.9.0.7", protoTCP, 514, false},
		{"10.1.0.10", "10.9.0.7", protoUDP, 515, false},
		{"10.9.0.7", "10.1.0.10", protoUDP, 514, false}, // one-way rule
		{"10.20.1.1", "10.1.0.10", protoICMP, 0, true},
		{"10.1.0.10", "10.20.1.1", protoICMP, 0, true}, // direction both
	}
	for _, tt := range tests {
		if got := inv.Ignored(a(tt.src), a(tt.dst), tt.proto, tt.port); got != tt.want {
			t.Errorf("Ignored(%s -> %s %d/%d) = %v, want %v", tt.src, tt.dst, tt.proto, tt.port, got, tt.want)
		}
	}
}

func TestInventoryErrors(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		yaml  string
		load  []string // problems from loading
		check []string // problems from Check against the default catalog
	}{
		{
			name: "syntax",
			yaml: "schema: 1\nsite: x\nvendors: [tegsoft]\nroles:\n  web: [10.0.0.300]\n  bad: {a: b}\n",
			load: []string{"site.yaml:6:"},
		},
		{
			name: "unknown field",
			yaml: "schema: 1\nsite: x\nvendors: [tegsoft]\nhosts: []\n",
			load: []string{"site.yaml:4:1:", "unknown field"},
		},
		{
			// go-yaml v1.19.2 panicked here (goccy/go-yaml#735), and so
			// did a replay given this site file.
			name: "unknown tag on a list",
			yaml: "schema: 1\nsite: x\nallow:\n  !!00000000000 0000\n",
			load: []string{"site.yaml: the YAML decoder failed"},
		},
		{
			name: "bad values",
			yaml: "schema: 1\nsite: x\nvendors: [tegsoft]\nroles:\n  web: [10.0.0.300, \"-bad-\"]\noverrides:\n  - {entry: tegsoft/sip, ports: 99999}\nignore:\n  - {ports: 5}\nallow:\n  - {name: Bad Name, from: a, to: b, transport: xtp, ports: 1}\n",
			load: []string{
				"site.yaml:5:9: role web: \"10.0.0.300\"",
				"site.yaml:5:21: role web: \"-bad-\"",
				"site.yaml:7:33: override tegsoft/sip:",
				"site.yaml:9:5: ignore: give from, to or both",
				"allow rule name \"Bad Name\"",
				"transport \"xtp\"",
			},
		},
		{
			name: "check against catalog",
			yaml: `schema: 1
site: x
vendors: [tegsoft, nobody]
roles:
  tegsoft-server: [10.0.0.1]
  typo-role: [10.0.0.2]
parameters:
  sinch-contact-center/nope: 3
  sinch-contact-center/mrs-max-prompts: 40000
overrides:
  - {entry: genesys-pureconnect/edge-vnc, ports: 5901}
  - {entry: tegsoft/web-http, ports: 8080}
  - {entry: tegsoft/sip, ports: 5070}
  - {entry: tegsoft/nothing, ports: 1}
expect:
  - tegsoft/sip
  - genesys-pureconnect/notifier-*
`,
			check: []string{
				"site.yaml:3:20: vendor \"nobody\"",
				"site.yaml:6:3: role \"typo-role\"",
				"site.yaml:8:3: parameter \"sinch-contact-center/nope\"",
				"site.yaml:11:13: override: genesys-pureconnect/edge-vnc cannot be changed",
				"site.yaml:12:13: override: tegsoft/web-http cannot be changed",
				"site.yaml:14:13: override: no catalog entry tegsoft/nothing",
				"site.yaml:17:5: expect: \"genesys-pureconnect/notifier-*\" matches no entry of the site's vendors",
			},
		},
		{
			name: "bad expect pattern",
			yaml: "schema: 1\nsite: x\nvendors: [tegsoft]\nexpect: [\"tegsoft/[\"]\n",
			load: []string{"site.yaml:4:", "is not an entry ID or pattern"},
		},
	}
	for _, tt := range tests {
		inv, err := ReadInventory(strings.NewReader(tt.yaml), "site.yaml")
		if len(tt.load) > 0 {
			if err == nil {
				t.Errorf("%s: no load error", tt.name)
				continue
			}
			for _, w := range tt.load {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: load error\n%v\nlacks %q", tt.name, err, w)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		err = inv.Check(c)
		if err == nil {
			t.Errorf("%s: Check found nothing", tt.name)
			continue
		}
		for _, w := range tt.check {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: check error\n%v\nlacks %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "tegsoft/sip") {
			t.Errorf("%s: tegsoft/sip is configurable, yet: %v", tt.name, err)
		}
	}
}

func FuzzLoadInventory(f *testing.F) {
	f.Add("schema: 1\nsite: x\nvendors: [tegsoft]\nroles: {web: [10.0.0.1, 'fe80::/10', a.example]}\n")
	f.Add("schema: 1\nsite: x\nvendors: v\nignore: [{from: 1.2.3.4, ports: '1-9/odd'}]\nallow: [{name: a, from: x, to: y, transport: udp, ports: any}]\n")
	f.Add("schema: 2\nsite: x\nvendors: [genesys-pureconnect, sinch-contact-center]\nstandby: [10.0.0.1]\n" +
		"options: {genesys-pureconnect/database: [mssql]}\nroles: {sinch-contact-center/mrs: [10.0.0.1], workstation: [10.0.0.0/8], cic-server: [10.0.0.1\n")
	cat, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Validation reports, never crashes, on whatever is decodable.
		if vinv, _ := ValidateInventory(strings.NewReader(s), "fuzz.yaml", cat); vinv != nil {
			vinv.Warnings(cat)
		}
		inv, err := ReadInventory(strings.NewReader(s), "fuzz.yaml")
		if err != nil {
			return
		}
		if sc, err := NewScope(cat, inv); err == nil {
			for _, role := range inv.RoleNames() {
				for _, h := range inv.Hosts(role) {
					if h.Name == "" && len(sc.RolesOf(h.Prefix.Addr())) == 0 {
						t.Fatalf("scope: %s of %s has no roles", h.Prefix.Addr(), role)
					}
				}
			}
		}
		for _, role := range inv.RoleNames() {
			for _, h := range inv.Hosts(role) {
				if h.Name != "" {
					if !slices.Contains(inv.RolesOfName(h.Name), role) {
						t.Fatalf("RolesOfName(%s) lacks %s", h.Name, role)
					}
					continue
				}
				if !slices.Contains(inv.RolesOf(h.Prefix.Addr()), role) {
					t.Fatalf("RolesOf(%s) lacks %s", h.Prefix.Addr(), role)
				}
			}
		}
	})
}

// One broken line must not hide the problems after it: syntax errors,
// unknown fields and the checks' own findings come out together.
func TestInventoryReportsEveryProblem(t *testing.T) {
	const text = `schema: 2
site: s
vendors: [genesys-pureconnect]
roles:
  cic-server: [10.0.0.10
  workstation: [10.1.0.0/24]
colour: blue
standby: [10.9.9.9]
expect: ["["]
`
	_, err := ReadInventory(strings.NewReader(text), "s.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	for _, want := range []string{
		"s.yaml:5:",                            // the unclosed list
		"s.yaml:7:1: unknown field \"colour\"", // an unknown field after it
		"standby: 10.9.9.9 is not a host of any role",
		"expect: \"[\" is not an entry ID or pattern",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}

func TestInventoryWarnings(t *testing.T) {
	cat, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, roles string
		want        []string
	}{
		{"server inside the workstation subnet", "  cic-server: [10.1.0.10]\n  genesys-pureconnect/workstation: [10.1.0.0/24]\n",
			[]string{"warning: 10.1.0.0/24 (genesys-pureconnect/workstation) overlaps 10.1.0.10, cic-server: the documents do not put these roles on one host"}},
		{"same address, two unrelated roles", "  cic-server: [10.0.0.10]\n  sql-server: [10.0.0.10]\n",
			[]string{"warning: 10.0.0.10 (sql-server) is also cic-server: the documents do not put these roles on one host"}},
		{"listed twice", "  cic-server: [10.0.0.10, 10.0.0.10]\n", []string{"warning: 10.0.0.10 is listed twice under cic-server"}},
		{"an Edge hosts the media server", "  edge: [10.0.0.30]\n  media-server: [10.0.0.30]\n", nil},
		{"Sinch components on one server", "  sinch-contact-center/mrs: [10.2.0.5]\n  sinch-contact-center/agent-server: [10.2.0.5]\n", nil},
		{"one agent PC, two vendors' clients", "  genesys-pureconnect/workstation: [10.1.0.0/24]\n  sinch-contact-center/workstation: [10.1.0.0/24]\n", nil},
		{"the site's own role", "  cic-server: [10.0.0.10]\n  datacenter: [10.0.0.0/16]\n", nil},
		{"disjoint", "  cic-server: [10.0.0.10]\n  genesys-pureconnect/workstation: [10.1.0.0/24]\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text := "schema: 2\nsite: s\nvendors: [genesys-pureconnect, sinch-contact-center]\nroles:\n" + tt.roles
			if strings.Contains(tt.roles, "datacenter") {
				text += "allow:\n  - {name: dc, from: datacenter, to: datacenter, transport: tcp, ports: 22, app: ssh}\n"
			}
			inv, err := ReadInventory(strings.NewReader(text), "s.yaml")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range inv.Warnings(cat) {
				got = append(got, w.Msg)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSameHosts reads same_hosts groups and refuses what cannot be one
// host: a group of one, a host no role lists, a host in two groups, and
// the field under schema 1.
func TestSameHosts(t *testing.T) {
	const head = "schema: 2\nsite: s\nvendors: [genesys-pureconnect]\nroles:\n  cic-server: [10.0.0.10, \"2001:db8::10\", 10.0.0.11]\n  workstation: [10.1.0.0/24, \"2001:db8:1::/64\"]\n"
	inv, err := ReadInventory(strings.NewReader(head+"same_hosts:\n  - [10.0.0.10, \"2001:db8::10\"]\n  - [10.1.0.0/24, \"2001:db8:1::/64\"]\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.SameHosts) != 2 || inv.SameHosts[0][1].String() != "2001:db8::10" || inv.SameHosts[1][0].String() != "10.1.0.0/24" {
		t.Errorf("groups %v", inv.SameHosts)
	}
	for _, tc := range []struct{ text, want string }{
		{head + "same_hosts: [[10.0.0.10]]\n", "a group lists two hosts or more, got 1"},
		{head + "same_hosts: [[10.0.0.10, 10.9.9.9]]\n", "same_hosts: 10.9.9.9 is not a host of any role"},
		{head + "same_hosts: [[10.0.0.10, \"2001:db8::10\"], [10.0.0.11, 10.0.0.10]]\n", "same_hosts: 10.0.0.10 is already in group 1"},
		{strings.Replace(head, "schema: 2", "schema: 1", 1) + "same_hosts: [[10.0.0.10, \"2001:db8::10\"]]\n", "same_hosts needs schema: 2"},
	} {
		_, err := ReadInventory(strings.NewReader(tc.text), "s.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text[len(head)-1:], err, tc.want)
		}
	}
}
