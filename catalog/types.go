package catalog

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// IP protocol numbers, as in the IPv4 protocol / IPv6 next-header field.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// Transport is the layer-4 protocol(s) of an entry. It is a bit set so that
// "TCP/UDP 5060" is one entry.
type Transport uint8

const (
	TCP  Transport = 1 << iota
	UDP            // "TCP/UDP" in a document is TCP|UDP, written "both".
	ICMP           // ICMP or ICMPv6; such entries have no ports.

	Both = TCP | UDP
)

// Matches reports whether the IP protocol number proto (6 TCP, 17 UDP, 1 or
// 58 ICMP) is one of t's.
func (t Transport) Matches(proto uint8) bool {
	switch proto {
	case protoTCP:
		return t&TCP != 0
	case protoUDP:
		return t&UDP != 0
	case protoICMP, protoICMPv6:
		return t&ICMP != 0
	}
	return false
}

func (t Transport) String() string {
	switch t {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case Both:
		return "both"
	case ICMP:
		return "icmp"
	}
	return "Transport(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText writes tcp, udp, both or icmp.
func (t Transport) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads tcp, udp, both (also "tcp/udp") or icmp.
func (t *Transport) UnmarshalText(b []byte) error {
	v, err := ParseTransport(string(b))
	*t = v
	return err
}

// ParseTransport parses tcp, udp, both ("tcp/udp" is accepted) or icmp.
func ParseTransport(s string) (Transport, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	case "both", "tcp/udp", "udp/tcp":
		return Both, nil
	case "icmp":
		return ICMP, nil
	}
	return 0, fmt.Errorf("transport %q: want tcp, udp, both or icmp", s)
}

// ParseProto parses a protocol name as given on the command line (tcp, udp,
// icmp) or an IP protocol number, and returns the protocol number.
func ParseProto(s string) (uint8, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return protoTCP, nil
	case "udp":
		return protoUDP, nil
	case "icmp":
		return protoICMP, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("protocol %q: want tcp, udp, icmp or a number 0-255", s)
	}
	return uint8(n), nil
}

// Direction says which side opens a flow.
type Direction uint8

const (
	// OneWay: From opens the flow to To's ports (the document's → or ←,
	// normalised so From is the initiator).
	OneWay Direction = iota
	// BothWays: either side may open it (the document's ↔).
	BothWays
)

func (d Direction) String() string {
	if d == BothWays {
		return "both"
	}
	return "one-way"
}

// Way is how a flow's originator and responder sit on an entry's sides.
type Way uint8

const (
	// NoWay: the hosts fit the entry neither way round.
	NoWay Way = iota
	// Forward: the originator on the From side, the responder on the To side.
	Forward
	// Backward: the originator on the To side of a both-way entry.
	Backward
	// WrongWay: the originator on the To side of a one-way entry.
	WrongWay
)

// Allowed reports whether the entry lets a flow of way w be opened:
// forward, or backward on a both-way entry.
func (w Way) Allowed() bool { return w == Forward || w == Backward }

// Fit is the one direction rule: a flow fits an entry Forward when its
// originator plays the entry's From side and its responder the To side
// (forward); the other way round (reverse) it fits Backward when the
// entry is both-way and the WrongWay when it is one-way. Forward wins, so
// hosts that play both sides read forward. What a side is (roles of an
// inventory, guessed roles, addresses of a firewall rule) is the caller's;
// which ways it credits too.
func (d Direction) Fit(forward, reverse bool) Way {
	switch {
	case forward:
		return Forward
	case !reverse:
		return NoWay
	case d == BothWays:
		return Backward
	}
	return WrongWay
}

// MarshalText writes one-way or both.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads one-way or both.
func (d *Direction) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "one-way", "oneway":
		*d = OneWay
	case "both", "two-way":
		*d = BothWays
	default:
		return fmt.Errorf("direction %q: want one-way or both", b)
	}
	return nil
}

// TLSPolicy says whether a flow is encrypted.
type TLSPolicy uint8

const (
	TLSNone TLSPolicy = iota
	// TLSOptional: the document allows plain or TLS on the same port.
	TLSOptional
	TLSRequired
)

func (p TLSPolicy) String() string {
	switch p {
	case TLSOptional:
		return "optional"
	case TLSRequired:
		return "required"
	}
	return "none"
}

// MarshalText writes none, optional or required.
func (p TLSPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads none, optional or required.
func (p *TLSPolicy) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "none", "":
		*p = TLSNone
	case "optional":
		*p = TLSOptional
	case "required":
		*p = TLSRequired
	default:
		return fmt.Errorf("tls %q: want none, optional or required", b)
	}
	return nil
}

// Roles is a list of normalised role names (cic-server, workstation, ...).
// An entry lists several roles when a document draws the same flow from or
// to several kinds of host.
type Roles []string

// Has reports whether role is in rs.
func (rs Roles) Has(role string) bool { return slices.Contains(rs, role) }

func (rs Roles) String() string { return strings.Join(rs, ",") }

// Source says where in a vendor document an entry is stated, so an auditor
// can check it.
type Source struct {
	// Document is the file name of the vendor document (under shared/seeds).
	Document string `json:"document"`
	// Section is the heading path, e.g. "Client operations > Interaction Attendant".
	Section string `json:"section"`
	// Quote is the document's own wording of the port(s), when short.
	Quote string `json:"quote,omitempty"`
	// Also lists other sections of the same document that state the same flow.
	Also []string `json:"also,omitempty"`
}

func (s Source) String() string {
	out := s.Document
	if s.Section != "" {
		out += " § " + s.Section
	}
	return out
}

// Parameter is a named site setting a port area is computed from, such as
// Sinch MRS "Maximum Number of Simultaneous Prompts".
type Parameter struct {
	// Name is "vendor/name", the key a site inventory sets it with.
	Name    string `json:"name"`
	Default int    `json:"default"`
	Doc     string `json:"doc,omitempty"`
}

// Area is a port range computed from site parameters: it runs from the
// value of First to First + PortsPer*Count, inclusive (Sinch MRS: "starts
// from the First Port of Prompt Area and extends to twice the number defined
// for Maximum Number of Simultaneous Prompts").
type Area struct {
	First    Parameter `json:"first"`
	Count    Parameter `json:"count"`
	PortsPer int       `json:"ports_per"`
}

// Ports computes the area. param returns a site's value for a parameter
// name, or false to use the default.
func (a *Area) Ports(param func(name string) (int, bool)) (PortSet, error) {
	first, count := a.First.Default, a.Count.Default
	if param != nil {
		if v, ok := param(a.First.Name); ok {
			first = v
		}
		if v, ok := param(a.Count.Name); ok {
			count = v
		}
	}
	hi := first + a.PortsPer*count
	if first < 0 || count < 0 || hi > 65535 {
		return PortSet{}, fmt.Errorf("area %s=%d + %d*%s=%d is outside 0-65535", a.First.Name, first, a.PortsPer, a.Count.Name, count)
	}
	return PortSet{Ranges: []PortRange{{Lo: uint16(first), Hi: uint16(hi)}}}, nil
}

// Entry is one flow a vendor document states: who talks to whom, over which
// transport and ports. Entries are immutable once loaded; share them freely.
type Entry struct {
	// ID is "vendor/name", stable across releases.
	ID        string `json:"id"`
	Vendor    string `json:"vendor"`
	Component string `json:"component"`
	// From opens the flow; To listens on Ports. With Direction BothWays
	// either side may open it.
	From      Roles     `json:"from"`
	To        Roles     `json:"to"`
	Direction Direction `json:"direction"`
	Transport Transport `json:"transport"`
	// Ports are the listening ports on the To side (for BothWays also the
	// ports either side may listen on).
	Ports PortSet `json:"ports"`
	// FromPorts are the ports on the From side when the document states
	// them (Imagicle "TCP-IP Ports (Imagicle Server)"); empty means any.
	FromPorts PortSet `json:"from_ports,omitzero"`
	// Area is set when Ports are computed from site parameters; Ports then
	// holds the area for the documented defaults.
	Area *Area     `json:"area,omitempty"`
	App  string    `json:"app"`
	TLS  TLSPolicy `json:"tls"`
	// Configurable: a site may move the port (inventory overrides).
	Configurable bool `json:"configurable"`
	// Required: the product does not work without this flow; false for
	// optional features.
	Required bool `json:"required"`
	// OneOf names the alternative group the entry belongs to: a site needs
	// only one entry of the group working between a pair of hosts (Oracle
	// or Microsoft SQL Server; the Packaged Server or the Software Only
	// web interface). Empty when the entry stands alone.
	OneOf string `json:"one_of,omitempty"`
	// RequiredWhen makes Required conditional on the site's options: the
	// entry is required only when, for every option named, the site's
	// value (or the option's default) is one of the values listed.
	RequiredWhen map[string][]string `json:"required_when,omitempty"`
	// Peers says which host pairs of the entry are required. By default
	// every from-host with every to-host, except that two hosts which both
	// hold a role of both sides (peers) need not each reach every other:
	// each peer needs one working flow with another peer, and standby
	// hosts are excused. "any" says the same explicitly for a primary and
	// its backup, and keeps standby hosts required as peers (the
	// switchover keeps them ready); "all" requires the full mesh between
	// peers too (Imagicle cluster nodes); "any-from" requires each to-host
	// to have one working flow from any from-host (a Sinch component's
	// "Internal" port, a pool of media servers).
	Peers string `json:"peers,omitempty"`
	// FQDNs and CIDRs name cloud destinations of the To side.
	FQDNs  []string       `json:"fqdns,omitempty"`
	CIDRs  []netip.Prefix `json:"cidrs,omitempty"`
	Notes  string         `json:"notes,omitempty"`
	Source Source         `json:"source"`
}

// ServicePorts returns the port sets a flow of this entry may be addressed
// to: Ports, and for BothWays entries also FromPorts when stated.
func (e *Entry) ServicePorts() []PortSet {
	if e.Direction == BothWays && !e.FromPorts.IsZero() && !e.FromPorts.IsAny() {
		return []PortSet{e.Ports, e.FromPorts}
	}
	return []PortSet{e.Ports}
}

// Covers reports whether a flow with IP protocol proto to port is covered
// by e's catalog ports (not counting dynamic ports).
func (e *Entry) Covers(proto uint8, port uint16) bool {
	if !e.Transport.Matches(proto) {
		return false
	}
	for _, ps := range e.ServicePorts() {
		if ps.Contains(port) {
			return true
		}
	}
	return false
}

// MatchFQDN reports whether name matches one of e's FQDNs.
func (e *Entry) MatchFQDN(name string) bool {
	for _, pat := range e.FQDNs {
		if MatchFQDN(pat, name) {
			return true
		}
	}
	return false
}

// MatchFQDN reports whether name matches pattern, case-insensitively and
// ignoring a trailing dot. "*.example.com" matches any name with at least
// one more label under example.com, but not example.com itself, as in TLS
// certificates and firewall FQDN objects.
func MatchFQDN(pattern, name string) bool {
	pattern = strings.TrimSuffix(pattern, ".")
	name = strings.TrimSuffix(name, ".")
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		if len(name) <= len(rest)+1 {
			return false
		}
		suffix := name[len(name)-len(rest):]
		return name[len(name)-len(rest)-1] == '.' && strings.EqualFold(suffix, rest) && name[0] != '.'
	}
	return strings.EqualFold(pattern, name)
}

// Vendor describes one vendor document and the role names its entries use.
type Vendor struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Document string `json:"document"`
	Title    string `json:"title,omitempty"`
	Notes    string `json:"notes,omitempty"`
	// Roles maps each role name the vendor's entries use to a description.
	Roles      map[string]string `json:"roles"`
	Parameters []Parameter       `json:"parameters,omitempty"`
	// Implies maps a role to the roles every host of it also plays, where
	// the document says so (a Sinch MRS is a contact center server, so it
	// uses the "Internal" ports).
	Implies map[string][]string `json:"implies,omitempty"`
	// Cohost lists groups of roles the document expects on one host (an
	// Interaction Edge appliance hosts the Media Server and SIP Proxy):
	// validation warns about an address given two roles otherwise.
	Cohost [][]string `json:"cohost,omitempty"`
	// Options are the variants and optional components a site declares in
	// its inventory ("vendor/name": value); entries' RequiredWhen refer to
	// them.
	Options []Option `json:"options,omitempty"`
}

// Option is a site choice the vendor document offers: a product variant,
// a database engine, an optional component.
type Option struct {
	// Name is "vendor/name", the key a site inventory sets it with.
	Name   string   `json:"name"`
	Values []string `json:"values"`
	// Default is the value assumed when the site does not declare the
	// option; empty means undeclared: entries conditional on it then count
	// as alternatives within their OneOf group.
	Default string `json:"default,omitempty"`
	Doc     string `json:"doc,omitempty"`
	Quote   string `json:"quote,omitempty"`
}

// QualifyRole returns the vendor-scoped name of a role, "vendor/role".
func QualifyRole(vendor, role string) string { return vendor + "/" + role }

// SplitRole splits "vendor/role" into its parts; vendor is empty for an
// unqualified name.
func SplitRole(name string) (vendor, role string) {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}
