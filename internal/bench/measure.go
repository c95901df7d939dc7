package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
)

// TcpdumpCounts is tcpdump's exit summary.
type TcpdumpCounts struct {
	Captured uint64 // "packets captured": written to the output
	Received uint64 // "packets received by filter"
	Dropped  uint64 // "packets dropped by kernel": the capture buffer was full
}

var tcpdumpLine = regexp.MustCompile(`(?m)^(\d+) packets? (captured|received by filter|dropped by kernel)$`)

// ParseTcpdumpSummary reads the three counter lines tcpdump prints on
// stderr when it exits.
func ParseTcpdumpSummary(stderr string) (TcpdumpCounts, error) {
	var c TcpdumpCounts
	seen := 0
	for _, m := range tcpdumpLine.FindAllStringSubmatch(stderr, -1) {
		n, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return c, fmt.Errorf("tcpdump summary %q: %w", m[0], err)
		}
		switch m[2] {
		case "captured":
			c.Captured = n
		case "received by filter":
			c.Received = n
		case "dropped by kernel":
			c.Dropped = n
		}
		seen++
	}
	if seen != 3 {
		return c, fmt.Errorf("tcpdump summary: found %d of its 3 counter lines in %q", seen, lastLines(stderr, 5))
	}
	return c, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// CapturedPackets sums the packets of every flow `auditor capture` wrote
// under dir (its Hive partitions).
func CapturedPackets(dir string) (packets uint64, flows int, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "date=*", "hour=*", "flows-*.parquet"))
	if err != nil {
		return 0, 0, err
	}
	if len(files) == 0 {
		return 0, 0, fmt.Errorf("no flows files under %s", dir)
	}
	for _, f := range files {
		rows, err := parquetout.ReadFlows(f)
		if err != nil {
			return 0, 0, err
		}
		for _, r := range rows {
			packets += uint64(r.PacketsOut + r.PacketsIn)
		}
		flows += len(rows)
	}
	return packets, flows, nil
}

// ScrapeMetrics reads the auditor's Prometheus metrics from addr, dialled
// from the calling thread (and so its network namespace: net/http would
// dial from another goroutine), and returns every sample by its series
// name with labels, e.g. `auditor_capture_drops_total{sensor="s",cause="lost"}`.
func ScrapeMetrics(addr string) (map[string]float64, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.0\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		return nil, fmt.Errorf("metrics %s: %w", addr, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics %s: %s", addr, resp.Status)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (map[string]float64, error) {
	samples := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("metrics: line %q: no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: line %q: %w", line, err)
		}
		samples[line[:i]] = v
	}
	return samples, sc.Err()
}

// SumMetric adds the samples of one metric whose labels contain every
// given label (`cause="lost"`).
func SumMetric(samples map[string]float64, name string, labels ...string) float64 {
	var sum float64
next:
	for series, v := range samples {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(series, l) {
				continue next
			}
		}
		sum += v
	}
	return sum
}
