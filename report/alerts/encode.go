package alerts

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/safetext"
)

// ECSVersion is the Elastic Common Schema version the events follow.
const ECSVersion = "8.11.0"

// Bounds on what one event carries, so that an event always fits a UDP
// syslog datagram and a hostile name learnt from the wire cannot bloat the
// feed. A string longer than maxString is cut on a rune boundary.
const (
	maxString    = 1024
	maxHostPairs = 16
)

// Encode returns ev as one line of ECS JSON, without the trailing newline.
func Encode(ev Event) []byte {
	return AppendEncode(make([]byte, 0, 1024), &ev)
}

// AppendEncode appends ev as ECS JSON to dst. It is a hand-written
// appender: BenchmarkEncode measured it about 3x faster than encoding/json
// over the equivalent tagged structs (BenchmarkEncodeJSON; 3.4 vs 9.4
// µs/event, 170 vs 1300 B allocated), and it omits empty fields without a
// pointer per optional object.
func AppendEncode(dst []byte, ev *Event) []byte {
	w := jsonWriter{b: dst}
	w.b = append(w.b, '{')
	at := ev.End
	if at.IsZero() {
		at = ev.Start
	}
	if at.IsZero() {
		at = ev.Created
	}
	w.time("@timestamp", at)
	w.open("ecs")
	w.str("version", ECSVersion)
	w.close()
	w.key("message")
	w.b = appendMessage(w.b, ev)

	w.open("event")
	w.str("id", ev.ID)
	w.str("kind", "alert")
	w.key("category")
	w.b = append(w.b, `["network"]`...)
	w.key("type")
	switch {
	case ev.Kind == verdict.KindBlocked:
		w.b = append(w.b, `["connection","denied"]`...)
	case ev.Src.IsValid() || ev.Dst.IsValid():
		w.b = append(w.b, `["connection"]`...)
	default:
		w.b = append(w.b, `["info"]`...)
	}
	w.str("module", "auditor")
	w.str("dataset", "auditor.findings")
	w.str("action", string(ev.Kind))
	w.int("severity", int64(ECSSeverity(ev.Severity)))
	w.time("created", ev.Created)
	w.time("start", ev.Start)
	w.time("end", ev.End)
	w.str("reason", ev.Reason)
	w.close()

	w.open("rule")
	id := ev.EntryID
	if id == "" {
		id = string(ev.Kind)
	}
	w.str("id", id)
	w.key("name")
	name := ruleTitle(ev.Kind)
	if ev.EntryID != "" {
		name += ": " + ev.EntryID
	}
	w.b = appendString(w.b, name)
	w.str("category", string(ev.Kind))
	w.str("ruleset", "auditor")
	w.close()

	w.open("observer")
	w.str("name", ev.Sensor)
	w.str("product", "auditor")
	w.str("type", "sensor")
	w.str("version", ev.Version)
	w.close()

	icmp := ev.Proto == flow.ProtoICMP || ev.Proto == flow.ProtoICMPv6
	if ev.Src.IsValid() {
		w.open("source")
		w.addr("ip", ev.Src.Addr().String())
		if !icmp && ev.Src.Port() != 0 {
			w.int("port", int64(ev.Src.Port()))
		}
		w.close()
	}
	if ev.Dst.IsValid() {
		w.open("destination")
		w.addr("ip", ev.Dst.Addr().String())
		if !icmp && ev.Dst.Port() != 0 {
			w.int("port", int64(ev.Dst.Port()))
		}
		w.str("domain", ev.ServerName)
		w.close()
	}
	if ev.Proto != 0 || ev.CommunityID != "" || ev.Src.IsValid() || ev.App != "" {
		w.open("network")
		// ECS network.protocol: the application protocol, lowercase.
		w.str("protocol", strings.ToLower(ev.App))
		if ev.Proto != 0 {
			w.str("transport", ecsTransport(ev.Proto))
			w.key("iana_number")
			w.b = append(w.b, '"')
			w.b = strconv.AppendUint(w.b, uint64(ev.Proto), 10)
			w.b = append(w.b, '"')
		}
		if a := ev.Src.Addr(); a.IsValid() {
			if a.Is4() {
				w.str("type", "ipv4")
			} else {
				w.str("type", "ipv6")
			}
		}
		w.str("community_id", ev.CommunityID)
		w.close()
	}
	if ev.SNI != "" {
		w.open("tls")
		w.open("client")
		w.str("server_name", ev.SNI)
		w.close()
		w.close()
	}

	w.open("auditor")
	w.str("kind", string(ev.Kind))
	w.str("severity", ev.Severity.String())
	if ev.Verdict != verdict.Unclassified {
		w.str("verdict", ev.Verdict.String())
	}
	w.str("vendor", ev.Vendor)
	w.str("entry_id", ev.EntryID)
	w.str("from_role", ev.FromRole)
	w.str("to_role", ev.ToRole)
	w.str("app", ev.App)
	w.str("sni", ev.SNI)
	w.str("server_name", ev.ServerName)
	w.str("call_id", ev.CallID)
	w.str("ports", ev.Ports)
	if len(ev.HostPairs) > 0 {
		w.key("host_pairs")
		w.b = append(w.b, '[')
		for i, p := range ev.HostPairs[:min(len(ev.HostPairs), maxHostPairs)] {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, p)
		}
		w.b = append(w.b, ']')
	}
	w.int("count", int64(max(ev.Count, 1)))
	if ev.Repeat {
		w.key("repeat")
		w.b = append(w.b, "true"...)
	}
	w.close()
	return append(w.b, '}')
}

// ecsTransport is network.transport: the IANA keyword, which ECS uses
// rather than the auditor's short names ("ipv6-icmp", not "icmp6").
func ecsTransport(p uint8) string {
	if p == flow.ProtoICMPv6 {
		return "ipv6-icmp"
	}
	return flow.ProtoName(p)
}

// appendMessage writes the one-line summary a SOC analyst reads first:
// "blocked tcp 10.1.0.5:50000 -> 10.0.0.10:5061 (acme/trunk): reason".
func appendMessage(b []byte, ev *Event) []byte {
	var m [256]byte
	s := append(m[:0], ev.Kind...)
	if ev.Proto != 0 {
		s = append(s, ' ')
		s = append(s, ecsTransport(ev.Proto)...)
	}
	if ev.Src.IsValid() || ev.Dst.IsValid() {
		s = append(s, ' ')
		s = ev.Src.AppendTo(s)
		s = append(s, " -> "...)
		s = ev.Dst.AppendTo(s)
	}
	if ev.EntryID != "" {
		s = append(s, " ("...)
		s = append(s, ev.EntryID...)
		s = append(s, ')')
	}
	if ev.Reason != "" {
		s = append(s, ": "...)
		s = append(s, ev.Reason...)
	}
	return appendString(b, string(s))
}

// jsonWriter appends JSON objects, tracking per nesting level whether a
// member was written so commas come out right with optional members.
type jsonWriter struct {
	b     []byte
	depth int
	some  [8]bool
}

func (w *jsonWriter) key(k string) {
	if w.some[w.depth] {
		w.b = append(w.b, ',')
	}
	w.some[w.depth] = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...) // keys are constants that need no escaping
	w.b = append(w.b, '"', ':')
}

func (w *jsonWriter) open(k string) {
	w.key(k)
	w.b = append(w.b, '{')
	w.depth++
	w.some[w.depth] = false
}

func (w *jsonWriter) close() {
	w.b = append(w.b, '}')
	w.depth--
}

// str writes a string member, omitted when empty.
func (w *jsonWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendString(w.b, v)
}

// addr writes an address, which needs no escaping.
func (w *jsonWriter) addr(k, v string) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
}

func (w *jsonWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// time writes an RFC 3339 UTC timestamp with microseconds, omitted when
// zero; Elasticsearch's date type parses it as is.
func (w *jsonWriter) time(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, "2006-01-02T15:04:05.000000Z07:00")
	w.b = append(w.b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Bytes that are not UTF-8 are
// first escaped reversibly as the Parquet tables escape them (\xHH, and a
// backslash as \\; see package safetext), so the feed and the tables show
// a hostile name alike and no byte is lost to U+FFFD; at most maxString
// bytes of that are kept, cut between characters and escapes. Control
// characters and U+2028/U+2029 are then escaped, as encoding/json does, so
// that every line is valid JSON whatever the wire taught the parsers.
func appendString(b []byte, s string) []byte {
	if len(s) > maxString || !safetext.Clean(s) {
		n, _ := safetext.EscapedLen(s, maxString)
		s = safetext.String(s[:n])
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
