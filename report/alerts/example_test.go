package alerts_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/alerts"
)

// The CLI opens one sink per --alerts flag, publishes every finding
// occurrence as flows are judged, and closes the feed at the end of the
// run, which flushes the dedup windows and waits for delivery.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "alerts-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "alerts.ndjson")

	sink, err := alerts.Open(path, alerts.Options{})
	if err != nil {
		log.Fatal(err) // a *alerts.DestError is a usage error
	}
	feed := alerts.New([]alerts.Sink{sink}, alerts.FeedOptions{})

	start := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		// In the engine: g := verdict.FlowFinding(f, &result); feed.Publish(alerts.EventOf(&g, f, result.Verdict, sensor)).
		feed.Publish(alerts.Event{
			Kind: verdict.KindBlocked, Severity: verdict.High, Verdict: verdict.Blocked,
			Proto: flow.ProtoTCP, EntryID: "acme/sip-tls", Sensor: "dc1-span",
			Src:   netip.AddrPortFrom(netip.MustParseAddr("10.1.0.5"), uint16(50000+i)),
			Dst:   netip.MustParseAddrPort("10.0.0.10:5061"),
			Start: start, End: start.Add(time.Second),
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := feed.Close(ctx); err != nil {
		log.Fatal(err)
	}
	st := feed.Stats()
	fmt.Printf("published %d, emitted %d, deduplicated %d\n", st.Published, st.Emitted, st.Deduplicated)

	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev struct {
			Rule struct {
				ID string `json:"id"`
			} `json:"rule"`
			Source struct {
				Port int `json:"port"`
			} `json:"source"`
			Auditor struct {
				Count  int  `json:"count"`
				Repeat bool `json:"repeat"`
			} `json:"auditor"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Rule.ID, ev.Source.Port, ev.Auditor.Count, ev.Auditor.Repeat)
	}
	// Output:
	// published 3, emitted 2, deduplicated 2
	// acme/sip-tls 50000 1 false
	// acme/sip-tls 0 2 true
}

// Encode gives the ECS document of an event, as every sink sends it.
func ExampleEncode() {
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	b := alerts.Encode(alerts.Event{
		Kind: verdict.KindMissing, Severity: verdict.Medium, EntryID: "acme/trunk", Vendor: "acme",
		Reason: "required by the catalog; no working flow seen", Start: at, End: at.Add(5 * time.Minute),
		HostPairs: []string{"10.0.0.10 -> 192.0.2.1"}, Sensor: "dc1-span",
	})
	fmt.Println(string(b))
	// Output:
	// {"@timestamp":"2025-03-14T09:05:00.000000Z","ecs":{"version":"8.11.0"},"message":"missing (acme/trunk): required by the catalog; no working flow seen","event":{"kind":"alert","category":["network"],"type":["info"],"module":"auditor","dataset":"auditor.findings","action":"missing","severity":47,"start":"2025-03-14T09:00:00.000000Z","end":"2025-03-14T09:05:00.000000Z","reason":"required by the catalog; no working flow seen"},"rule":{"id":"acme/trunk","name":"Required flow missing: acme/trunk","category":"missing","ruleset":"auditor"},"observer":{"name":"dc1-span","product":"auditor","type":"sensor"},"auditor":{"kind":"missing","severity":"medium","vendor":"acme","entry_id":"acme/trunk","host_pairs":["10.0.0.10 -> 192.0.2.1"],"count":1}}
}
