// Package suggest proposes a site inventory from observed flows: which host
// plays which role of the chosen vendors, with the evidence for each
// (the catalog entries whose ports it serves or uses, the peers, counts,
// first and last seen) and a confidence, and where a written inventory
// contradicts the traffic. It reads the flows the replay and capture
// commands write (flows.parquet), so it sits after the sinks: it imports
// catalog and report/parquetout, and nothing imports it but the CLI.
package suggest

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/report/parquetout"
)

// Flow is what the suggestion needs of one flow: its endpoints as the flow
// table oriented them (Src opened it), and whether the responder answered.
type Flow struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	First, Last      time.Time
	// Answered: the responder took part (a TCP handshake completed, a UDP
	// reply came back, or enough UDP packets went one way to be a media
	// stream rather than a probe).
	Answered bool
}

// accepted reports whether a TCP connection in Zeek state s shows the
// responder accepting it. Not in the states of an attempt it never
// accepted (S0, REJ, SH, RSTOS0), nor in those with no handshake seen
// from the originator (OTH: midstream; SHR, RSTRH: only the responder's
// SYN-ACK): a host that only answers is no evidence of serving the port.
// This is not the classifier's failed attempt (blocked), which is about
// the originator's side of the same states.
func accepted(s flow.ConnState) bool {
	switch s {
	case flow.StateS0, flow.StateREJ, flow.StateSH, flow.StateSHR, flow.StateOTH, flow.StateRSTOS0, flow.StateRSTRH:
		return false
	}
	return true
}

// minOneWayUDP is how many packets one way make a UDP flow count as
// served without a reply: one-way RTP is common (hold, music on hold),
// a probe is a packet or two.
const minOneWayUDP = 5

// FromRow converts a flows.parquet row; ok is false for a row whose
// addresses do not parse.
func FromRow(r *parquetout.FlowRow) (Flow, bool) {
	src, err1 := netip.ParseAddr(r.SrcIP)
	dst, err2 := netip.ParseAddr(r.DstIP)
	if err1 != nil || err2 != nil {
		return Flow{}, false
	}
	proto, err := catalog.ParseProto(r.Proto)
	if err != nil {
		return Flow{}, false
	}
	f := Flow{Src: src.Unmap(), Dst: dst.Unmap(), Proto: proto, SrcPort: uint16(r.SrcPort), DstPort: uint16(r.DstPort),
		First: r.FirstSeen, Last: r.LastSeen}
	switch proto {
	case 6:
		// A state this build does not know leaves the packets to decide.
		st, known := flow.ParseConnState(r.State)
		f.Answered = r.PacketsIn > 0 && (!known || accepted(st))
	case 17:
		f.Answered = r.PacketsIn > 0 || r.PacketsOut >= minOneWayUDP
	}
	return f, true
}

// ReadStats counts what reading found.
type ReadStats struct {
	Files int `json:"files"`
	Rows  int `json:"rows"`
	// NonIP are rows of flows without IP addresses (ARP and other
	// layer-2 protocols); BadRows those whose addresses or protocol do
	// not parse.
	NonIP   int `json:"non_ip"`
	BadRows int `json:"bad_rows"`
	// Unreadable lists files that could not be read (a live capture's
	// window still being written has no footer yet), with the reason.
	Unreadable []string `json:"unreadable,omitempty"`
	// DNSFiles and DNSAnswers count the DNS tables read beside the flows
	// (dns.parquet, dns-*.parquet) and their A and AAAA answers, which
	// tie dual-stack hosts together.
	DNSFiles   int `json:"dns_files"`
	DNSAnswers int `json:"dns_answers"`
}

// FlowFiles returns the flows Parquet files under path: path itself when it
// is a file, else every flows*.parquet below it (a replay's flows.parquet,
// a live capture's date=/hour= partitions), sorted.
func FlowFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if !d.IsDir() && strings.HasPrefix(name, "flows") && strings.HasSuffix(name, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// ReadParquet reads the flows of the given files into a. A file that
// cannot be read is listed in the stats and skipped, so one damaged or
// unfinished window does not hide the others; the error is set only when
// no file could be read.
func ReadParquet(a *Analyzer, files []string) (ReadStats, error) {
	var st ReadStats
	var errs []error
	for _, path := range files {
		rows, err := parquetout.ReadFlows(path)
		if err != nil {
			st.Unreadable = append(st.Unreadable, err.Error())
			errs = append(errs, err)
			continue
		}
		st.Files++
		for i := range rows {
			st.Rows++
			if rows[i].SrcIP == "" && rows[i].DstIP == "" {
				st.NonIP++
				continue
			}
			f, ok := FromRow(&rows[i])
			if !ok {
				st.BadRows++
				continue
			}
			a.Add(f)
		}
		readNames(a, path, &st)
	}
	if st.Files == 0 && len(errs) > 0 {
		return st, fmt.Errorf("no flows file could be read: %w", errors.Join(errs...))
	}
	return st, nil
}

// readNames reads the DNS table written beside a flows file, if there is
// one (tables of the same run or window share their name after the
// table's), and gives its A and AAAA answers to a. A DNS table that cannot
// be read is listed and costs only the same_hosts suggestions.
func readNames(a *Analyzer, flowsPath string, st *ReadStats) {
	dir, base := filepath.Split(flowsPath)
	if !strings.HasPrefix(base, "flows") {
		return
	}
	path := filepath.Join(dir, "dns"+strings.TrimPrefix(base, "flows"))
	if _, err := os.Stat(path); err != nil {
		return
	}
	rows, err := parquetout.ReadDNS(path)
	if err != nil {
		st.Unreadable = append(st.Unreadable, err.Error())
		return
	}
	st.DNSFiles++
	for i := range rows {
		for _, ans := range rows[i].Answers {
			if ans.Type != "A" && ans.Type != "AAAA" {
				continue
			}
			if addr, err := netip.ParseAddr(ans.Data); err == nil {
				st.DNSAnswers++
				a.AddName(ans.Name, addr)
			}
		}
	}
}
