package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Parity restricts a port range to its even or odd members, as for the Sinch
// Communication Desktop whose RTP uses the even and RTCP the odd ports of one
// area.
type Parity uint8

const (
	AllPorts  Parity = 0
	EvenPorts Parity = 1
	OddPorts  Parity = 2
)

// PortRange is an inclusive range of ports, optionally only its even or odd
// members. A single port is a range with Lo == Hi.
type PortRange struct {
	Lo, Hi uint16
	Parity Parity
}

// Contains reports whether port lies in r.
func (r PortRange) Contains(port uint16) bool {
	if port < r.Lo || port > r.Hi {
		return false
	}
	switch r.Parity {
	case EvenPorts:
		return port&1 == 0
	case OddPorts:
		return port&1 == 1
	}
	return true
}

func (r PortRange) String() string {
	var s string
	switch {
	case r.Lo == 0 && r.Hi == 65535:
		s = "any"
	case r.Hi == 65535 && r.Lo > 0:
		s = ">=" + strconv.Itoa(int(r.Lo))
	case r.Lo == r.Hi:
		s = strconv.Itoa(int(r.Lo))
	default:
		s = strconv.Itoa(int(r.Lo)) + "-" + strconv.Itoa(int(r.Hi))
	}
	switch r.Parity {
	case EvenPorts:
		s += "/even"
	case OddPorts:
		s += "/odd"
	}
	return s
}

// PortSet is the set of ports a catalog entry covers. Besides numbers and
// ranges, a document may say a port is negotiated at run time ("RTP
// Dynamic", signalled by SIP/SDP) or give no number at all ("TCP nnn", "No
// default"): those are flags, because no static port test can match them.
//
// YAML and JSON form: a list of tokens, each one of
//
//	5060          single port
//	16384-32767   inclusive range
//	5004-5030/even, 5005-5031/odd   only the even or odd ports of a range
//	>=5000, >1024 open range up to 65535
//	any           every port (0-65535)
//	dynamic       negotiated at run time (SIP/SDP); may be combined with a
//	              range the document gives as the usual area
//	unspecified   the document names the flow but no port number
//
// A bare scalar is accepted for a single token.
type PortSet struct {
	Ranges []PortRange
	// Dynamic: the port is negotiated at run time (SIP/SDP); Ranges, when
	// present, is the area the document says it is drawn from.
	Dynamic bool
	// Unspecified: the document states the flow but gives no port number
	// (vendor-specific or configured per site).
	Unspecified bool
}

// Contains reports whether port is in one of the set's ranges. Dynamic and
// Unspecified add no ports: a dynamic port is matched through signalling,
// not through the catalog.
func (s PortSet) Contains(port uint16) bool {
	for _, r := range s.Ranges {
		if r.Contains(port) {
			return true
		}
	}
	return false
}

// broadPorts is the widest range that tells anything about a flow. A
// range covering more than half the port space (Imagicle "UDP >= 1025",
// "Any TCP/UDP port") holds nearly every ephemeral port, so it neither
// makes a flow expected without roles to narrow it down, nor is evidence
// of a role. It is still where the document puts media: the media checks
// (verdict.DocumentedMediaPorts) keep it.
const broadPorts = 32768

// Broad reports whether r is too wide to tell anything (wider than half
// the port space).
func (r PortRange) Broad() bool { return int(r.Hi)-int(r.Lo)+1 > broadPorts }

// Narrow returns s without its broad ranges; Dynamic and Unspecified are
// kept.
func (s PortSet) Narrow() PortSet {
	out := PortSet{Dynamic: s.Dynamic, Unspecified: s.Unspecified}
	for _, r := range s.Ranges {
		if !r.Broad() {
			out.Ranges = append(out.Ranges, r)
		}
	}
	return out
}

// IsZero reports whether s states nothing at all.
func (s PortSet) IsZero() bool { return len(s.Ranges) == 0 && !s.Dynamic && !s.Unspecified }

// IsAny reports whether s covers every port.
func (s PortSet) IsAny() bool {
	for _, r := range s.Ranges {
		if r.Lo == 0 && r.Hi == 65535 && r.Parity == AllPorts {
			return true
		}
	}
	return false
}

// Tokens returns the set in its YAML/JSON token form.
func (s PortSet) Tokens() []string {
	out := make([]string, 0, len(s.Ranges)+2)
	if s.Dynamic {
		out = append(out, "dynamic")
	}
	for _, r := range s.Ranges {
		out = append(out, r.String())
	}
	if s.Unspecified {
		out = append(out, "unspecified")
	}
	return out
}

// String is the comma-separated token form, e.g. "8018,8108" or "dynamic,16384-32767".
func (s PortSet) String() string { return strings.Join(s.Tokens(), ",") }

// MarshalJSON writes the token list.
func (s PortSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.Tokens()) }

// UnmarshalJSON reads the token list.
func (s *PortSet) UnmarshalJSON(b []byte) error {
	var toks []string
	if err := json.Unmarshal(b, &toks); err != nil {
		return err
	}
	ps, err := ParsePorts(toks...)
	if err != nil {
		return err
	}
	*s = ps
	return nil
}

// MarshalYAML writes the token list.
func (s PortSet) MarshalYAML() (any, error) { return s.Tokens(), nil }

// Ports builds a PortSet of single ports.
func Ports(ports ...uint16) PortSet {
	s := PortSet{Ranges: make([]PortRange, len(ports))}
	for i, p := range ports {
		s.Ranges[i] = PortRange{Lo: p, Hi: p}
	}
	return s
}

// ParsePorts parses port tokens (see PortSet). Each token may itself be a
// comma-separated list, so "8018,8108" and ["8018", "8108"] are the same.
func ParsePorts(tokens ...string) (PortSet, error) {
	var s PortSet
	for _, tok := range tokens {
		for part := range strings.SplitSeq(tok, ",") {
			part = strings.TrimSpace(part)
			if err := s.add(part); err != nil {
				return PortSet{}, err
			}
		}
	}
	return s, nil
}

func (s *PortSet) add(tok string) error {
	switch strings.ToLower(tok) {
	case "":
		return fmt.Errorf("empty port token")
	case "any":
		s.Ranges = append(s.Ranges, PortRange{Lo: 0, Hi: 65535})
		return nil
	case "dynamic":
		s.Dynamic = true
		return nil
	case "unspecified":
		s.Unspecified = true
		return nil
	}
	body, par := tok, AllPorts
	if i := strings.IndexByte(tok, '/'); i >= 0 {
		body = tok[:i]
		switch strings.ToLower(tok[i+1:]) {
		case "even":
			par = EvenPorts
		case "odd":
			par = OddPorts
		default:
			return fmt.Errorf("port %q: suffix must be /even or /odd", tok)
		}
	}
	var r PortRange
	switch {
	case strings.HasPrefix(body, ">="):
		lo, err := parsePort(body[2:])
		if err != nil {
			return fmt.Errorf("port %q: %w", tok, err)
		}
		r = PortRange{Lo: lo, Hi: 65535}
	case strings.HasPrefix(body, ">"):
		lo, err := parsePort(body[1:])
		if err != nil {
			return fmt.Errorf("port %q: %w", tok, err)
		}
		if lo == 65535 {
			return fmt.Errorf("port %q: empty range", tok)
		}
		r = PortRange{Lo: lo + 1, Hi: 65535}
	default:
		lo, hi, isRange := strings.Cut(body, "-")
		l, err := parsePort(lo)
		if err != nil {
			return fmt.Errorf("port %q: %w", tok, err)
		}
		h := l
		if isRange {
			if h, err = parsePort(hi); err != nil {
				return fmt.Errorf("port %q: %w", tok, err)
			}
			if h < l {
				return fmt.Errorf("port %q: range end below start", tok)
			}
		}
		r = PortRange{Lo: l, Hi: h}
	}
	if par != AllPorts && r.Lo == r.Hi {
		return fmt.Errorf("port %q: /even and /odd apply to ranges only", tok)
	}
	r.Parity = par
	s.Ranges = append(s.Ranges, r)
	return nil
}

func parsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number 0-65535", s)
	}
	return uint16(n), nil
}
