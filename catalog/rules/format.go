package rules

import (
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

// Policy is the verdict a generated base chain gives to what the allow-list
// does not cover. The default is PolicyAccept: the ruleset then only counts
// what it would drop, so a team can load it, watch the counter, and switch
// to PolicyDrop once the count stays at zero.
type Policy string

const (
	PolicyAccept Policy = "accept"
	PolicyDrop   Policy = "drop"
)

// Hook is where the generated base chain attaches: forward for a firewall
// between segments, input for a host's own firewall.
type Hook string

const (
	HookForward Hook = "forward"
	HookInput   Hook = "input"
)

// FormatOptions configures the nft and iptables writers.
type FormatOptions struct {
	Policy Policy
	Hook   Hook
	// Table names the nftables table (default "auditor_rules") and,
	// upper-cased, the iptables chain ("AUDITOR-RULES").
	Table string
}

func (o *FormatOptions) defaults() {
	if o.Policy == "" {
		o.Policy = PolicyAccept
	}
	if o.Hook == "" {
		o.Hook = HookForward
	}
	if o.Table == "" {
		o.Table = "auditor_rules"
	}
}

// WriteCSV writes the rules as a firewall change request: source,
// destination, protocol, ports, direction, justification. Several
// addresses in a cell are separated by spaces; ports by commas.
func WriteCSV(w io.Writer, s *Set) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"source", "destination", "protocol", "ports", "direction", "justification"}); err != nil {
		return err
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		dst := prefixList(r.To)
		if len(r.To) == 0 {
			dst = strings.Join(r.FQDNs, " ")
		}
		ports := r.Ports.String()
		if r.Transport == "icmp" {
			ports = ""
		}
		if err := cw.Write([]string{prefixList(r.From), dst, r.Transport, ports, r.Direction, r.Justification()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func prefixList(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = prefixString(p)
	}
	return strings.Join(out, " ")
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// commentText makes s safe inside a double-quoted nft or iptables comment
// of at most n bytes.
func commentText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '\\' || r == '\'':
			return -1
		case r < 0x20 || r > 0x7e:
			return ' '
		}
		return r
	}, s)
	s = oneLine(s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// header writes the lines every text output starts with.
func header(w io.Writer, s *Set, o FormatOptions, table string) {
	fmt.Fprintf(w, "# Allow-list of site %s, from the auditor's vendor catalog and the site inventory.\n", s.Site)
	fmt.Fprintf(w, "# Each rule cites its catalog entry and the vendor document's section and quote.\n")
	fmt.Fprintf(w, "# Replies pass as established/related traffic. What the list does not cover\n")
	if o.Policy == PolicyDrop {
		fmt.Fprintf(w, "# is dropped (policy drop).\n")
	} else {
		fmt.Fprintf(w, "# is counted, then accepted (policy accept, audit mode): load it, watch the\n")
		fmt.Fprintf(w, "# counter of the last rule of %s, and regenerate with --policy drop to enforce.\n", table)
	}
	for _, sk := range s.Skipped {
		fmt.Fprintf(w, "# not expressible: %s: %s\n", sk.EntryID, commentText(sk.Reason, 400))
	}
}

func ruleComment(w io.Writer, indent string, r *Rule) {
	fmt.Fprintf(w, "%s# %s\n", indent, commentText(r.Justification(), 2000))
}

// WriteNft writes an nftables ruleset for `nft -f`: one inet table holding
// a named set per group of hosts that appears more than once, an "allow"
// chain with the rules, and a base chain on the chosen hook that accepts
// established traffic and jumps to "allow".
func WriteNft(w io.Writer, s *Set, o FormatOptions) error {
	o.defaults()
	if !validName(o.Table) {
		return fmt.Errorf("table name %q: want letters, digits and '_'", o.Table)
	}
	header(w, s, o, "chain "+string(o.Hook))
	sets := newSetNamer()
	uses := make(map[string]int)
	for i := range s.Rules {
		uses[sets.key(s.Rules[i].From)]++
		uses[sets.key(s.Rules[i].To)]++
	}
	var body strings.Builder
	for i := range s.Rules {
		r := &s.Rules[i]
		ruleComment(&body, "\t\t", r)
		if len(r.To) == 0 {
			fmt.Fprintf(&body, "\t\t# cloud destination named only (%s): add it with your firewall's FQDN objects\n", strings.Join(r.FQDNs, " "))
			continue
		}
		ip := "ip"
		if r.Family == 6 {
			ip = "ip6"
		}
		addr := func(ps []netip.Prefix, roles []string) string {
			if len(ps) == 1 || uses[sets.key(ps)] < 2 {
				return nftList(ps)
			}
			return "@" + sets.name(ps, roles, r.Family)
		}
		line := fmt.Sprintf("%s saddr %s %s daddr %s", ip, addr(r.From, r.FromRoles), ip, addr(r.To, r.ToRoles))
		switch r.Transport {
		case "icmp":
			if r.Family == 6 {
				line += " meta l4proto ipv6-icmp"
			} else {
				line += " meta l4proto icmp"
			}
		default:
			if ps := nftPorts(r.FromPorts); ps != "" {
				line += " " + r.Transport + " sport " + ps
			}
			if ps := nftPorts(r.Ports); ps != "" {
				line += " " + r.Transport + " dport " + ps
			} else {
				line += " meta l4proto " + r.Transport
			}
		}
		fmt.Fprintf(&body, "\t\t%s accept comment \"%s\"\n", line, commentText(r.EntryID, 120))
	}
	fmt.Fprintf(w, "table inet %s {\n", o.Table)
	for _, st := range sets.list {
		typ := "ipv4_addr"
		if st.family == 6 {
			typ = "ipv6_addr"
		}
		fmt.Fprintf(w, "\t# %s\n", strings.Join(st.roles, ", "))
		fmt.Fprintf(w, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n\t\telements = { %s }\n\t}\n", st.name, typ, strings.Join(prefixStrings(st.elems), ", "))
	}
	fmt.Fprintf(w, "\tchain allow {\n%s\t}\n", body.String())
	fmt.Fprintf(w, "\tchain %s {\n\t\ttype filter hook %s priority filter; policy %s;\n", o.Hook, o.Hook, o.Policy)
	fmt.Fprintf(w, "\t\tct state established,related accept\n")
	if o.Hook == HookInput {
		fmt.Fprintf(w, "\t\tiif \"lo\" accept\n")
	}
	fmt.Fprintf(w, "\t\tjump allow\n")
	fmt.Fprintf(w, "\t\tcounter comment \"not in the allow-list\"\n")
	fmt.Fprintf(w, "\t}\n}\n")
	return nil
}

func validName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = prefixString(p)
	}
	return out
}

func nftList(ps []netip.Prefix) string {
	if len(ps) == 1 {
		return prefixString(ps[0])
	}
	return "{ " + strings.Join(prefixStrings(ps), ", ") + " }"
}

// portTokens writes each range as "lo-hi" (sep "-") or "lo:hi"; nil when
// the set covers every port, so no port match is needed.
func portTokens(ps catalog.PortSet, sep string) []string {
	if ps.IsAny() {
		return nil
	}
	var out []string
	for _, r := range ps.Ranges {
		if r.Lo == r.Hi {
			out = append(out, strconv.Itoa(int(r.Lo)))
		} else {
			out = append(out, strconv.Itoa(int(r.Lo))+sep+strconv.Itoa(int(r.Hi)))
		}
	}
	return out
}

func nftPorts(ps catalog.PortSet) string {
	toks := portTokens(ps, "-")
	switch len(toks) {
	case 0:
		return ""
	case 1:
		return toks[0]
	}
	return "{ " + strings.Join(toks, ", ") + " }"
}

type namedSet struct {
	name   string
	family int
	roles  []string
	elems  []netip.Prefix
}

type setNamer struct {
	byKey map[string]*namedSet
	taken map[string]bool
	list  []*namedSet
}

func newSetNamer() *setNamer {
	return &setNamer{byKey: make(map[string]*namedSet), taken: make(map[string]bool)}
}

func (n *setNamer) key(ps []netip.Prefix) string { return prefixList(ps) }

// name returns the set holding exactly ps, named after the roles it
// stands for ("ip_phone_workstation_v4"), creating it on first use.
func (n *setNamer) name(ps []netip.Prefix, roles []string, fam int) string {
	k := n.key(ps)
	if st, ok := n.byKey[k]; ok {
		return st.name
	}
	var b strings.Builder
	for i, r := range roles {
		if i > 0 {
			b.WriteByte('_')
		}
		_, bare := catalog.SplitRole(r)
		for _, c := range bare {
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
				b.WriteRune(c)
			default:
				b.WriteByte('_')
			}
		}
	}
	base := b.String()
	if len(base) > 24 {
		h := fnv.New32a()
		h.Write([]byte(base))
		base = fmt.Sprintf("%s_%04x", base[:19], h.Sum32()&0xffff)
	}
	if base == "" || base[0] >= '0' && base[0] <= '9' {
		base = "h_" + base
	}
	name := fmt.Sprintf("%s_v%d", base, fam)
	for i := 2; n.taken[name]; i++ {
		name = fmt.Sprintf("%s_%d_v%d", base, i, fam)
	}
	n.taken[name] = true
	st := &namedSet{name: name, family: fam, roles: roles, elems: ps}
	n.byKey[k] = st
	n.list = append(n.list, st)
	return name
}

// WriteIptables writes an iptables-restore file for one address family
// (4: iptables-restore, 6: ip6tables-restore): a chain named after the
// table holding the rules, and the hook chain accepting established
// traffic and jumping to it. Restoring it replaces the filter table.
func WriteIptables(w io.Writer, s *Set, o FormatOptions, fam int) error {
	o.defaults()
	if !validName(o.Table) {
		return fmt.Errorf("table name %q: want letters, digits and '_'", o.Table)
	}
	chain := strings.ToUpper(strings.ReplaceAll(o.Table, "_", "-"))
	if len(chain) > 28 {
		return fmt.Errorf("chain name %q is longer than iptables allows (28)", chain)
	}
	hook := strings.ToUpper(string(o.Hook))
	header(w, s, o, "chain "+hook)
	tool := "iptables-restore"
	if fam == 6 {
		tool = "ip6tables-restore"
	}
	fmt.Fprintf(w, "# IPv%d rules, for %s.\n", fam, tool)
	fmt.Fprintf(w, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:%s - [0:0]\n", chain)
	if o.Policy == PolicyDrop {
		fmt.Fprintf(w, ":%s DROP [0:0]\n", hook)
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		if r.Family != fam {
			continue
		}
		ruleComment(w, "", r)
		if len(r.To) == 0 {
			fmt.Fprintf(w, "# cloud destination named only (%s): add it with your firewall's FQDN objects\n", strings.Join(r.FQDNs, " "))
			continue
		}
		args := fmt.Sprintf("-A %s -s %s -d %s", chain, strings.Join(prefixStrings(r.From), ","), strings.Join(prefixStrings(r.To), ","))
		comment := fmt.Sprintf("-m comment --comment \"%s\" -j ACCEPT", commentText(r.EntryID+" "+r.Source.Section, 250))
		if r.Transport == "icmp" {
			p := "icmp"
			if fam == 6 {
				p = "ipv6-icmp"
			}
			fmt.Fprintf(w, "%s -p %s %s\n", args, p, comment)
			continue
		}
		sport := ""
		if toks := portTokens(r.FromPorts, ":"); len(toks) > 0 {
			if len(multiportChunks(toks)) > 1 {
				return fmt.Errorf("%s: too many source ports for one multiport match", r.EntryID)
			}
			sport = " -m multiport --sports " + strings.Join(toks, ",")
		}
		chunks := multiportChunks(portTokens(r.Ports, ":"))
		if len(chunks) == 0 {
			fmt.Fprintf(w, "%s -p %s%s %s\n", args, r.Transport, sport, comment)
			continue
		}
		for _, ch := range chunks {
			fmt.Fprintf(w, "%s -p %s%s -m multiport --dports %s %s\n", args, r.Transport, sport, strings.Join(ch, ","), comment)
		}
	}
	fmt.Fprintf(w, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n", hook)
	if o.Hook == HookInput {
		fmt.Fprintf(w, "-A INPUT -i lo -j ACCEPT\n")
	}
	fmt.Fprintf(w, "-A %s -j %s\n", hook, chain)
	fmt.Fprintf(w, "-A %s -m comment --comment \"not in the allow-list\"\n", hook)
	fmt.Fprintf(w, "COMMIT\n")
	return nil
}

// multiportChunks splits port tokens into groups a multiport match takes:
// at most 15 ports, a range counting as two.
func multiportChunks(toks []string) [][]string {
	var out [][]string
	var cur []string
	n := 0
	for _, t := range toks {
		w := 1
		if strings.Contains(t, ":") {
			w = 2
		}
		if n+w > 15 {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, t)
		n += w
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
