package sipinfo

import (
	"strconv"
	"strings"
)

// The functions here read the few fields the auditor needs from header
// values sipgo refused (ParseMessage's tolerant pass keeps them as opaque
// headers). They aim at what real equipment sends, such as
// `f: \"arik\" <sip:816666@example.net>;tag=6433ef9` with escaped quotes
// outside a quoted string, not at validating the grammar.

// lenientAddress takes the URI from between angle brackets (or up to the
// first ';' for the bare form) and the tag parameter after it.
func lenientAddress(v string) Address {
	var uri, params string
	if i := strings.IndexByte(v, '<'); i >= 0 {
		rest := v[i+1:]
		j := strings.IndexByte(rest, '>')
		if j < 0 {
			return Address{URI: strings.TrimSpace(rest)}
		}
		uri, params = rest[:j], rest[j+1:]
	} else {
		uri, params, _ = strings.Cut(v, ";")
		params = ";" + params
	}
	return Address{URI: strings.TrimSpace(uri), Tag: headerParam(params, "tag")}
}

// lenientVia reads "SIP/2.0/UDP host[:port];branch=...".
func lenientVia(v string) Via {
	v, _, _ = strings.Cut(v, ",") // the top entry only
	proto, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	sentBy, params, _ := strings.Cut(strings.TrimSpace(rest), ";")
	via := Via{Branch: headerParam(";"+params, "branch")}
	if i := strings.LastIndexByte(proto, '/'); i >= 0 {
		via.Transport = strings.ToUpper(strings.TrimSpace(proto[i+1:]))
	}
	host, port := strings.TrimSpace(sentBy), ""
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			host, port = host[1:end], strings.TrimPrefix(host[end+1:], ":")
		}
	} else if strings.Count(host, ":") == 1 {
		host, port, _ = strings.Cut(host, ":")
	}
	via.Host = host
	if p, err := strconv.Atoi(port); err == nil && p > 0 && p <= 0xffff {
		via.Port = p
	}
	return via
}

// headerParam finds ";name=value" in params (names are case insensitive).
func headerParam(params, name string) string {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
