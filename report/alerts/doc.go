// Package alerts is the auditor's SOC alert feed: every finding, as it
// happens, as an Elastic Common Schema event to stdout, a rotated NDJSON
// file, syslog or an HTTP ingest endpoint.
//
// # Destinations (--alerts DEST, repeatable)
//
//	PATH, file:///PATH             NDJSON file, appended; rotated when it would pass
//	                               100 MiB: PATH.1 newest ... PATH.5 oldest
//	"-"                            stdout, one JSON event per line
//	syslog+tcp://HOST:PORT         RFC 5424, octet-counting framing (RFC 6587 3.4.1)
//	syslog+udp://HOST:PORT         RFC 5424, one message per datagram
//	http://HOST[:PORT]/PATH        batched POST, Content-Type application/x-ndjson,
//	https://...                    up to 500 events or 1 s per batch
//
// Syslog messages are "<PRI>1 TIMESTAMP HOST auditor PID KIND - JSON": PRI
// is facility local0 (16) * 8 plus the severity (critical 2, high 3,
// medium 4, low 5, info 6), TIMESTAMP is event.created, HOST the sensor
// name (else the host name) and KIND the finding kind; MSG is the JSON
// event without a BOM.
//
// An HTTP destination sends "Authorization: Bearer TOKEN" when a token is
// configured. The token is never put on the command line, where ps would
// show it: --alerts-token-env NAME names the environment variable holding
// it for every HTTP destination, and a token_env=NAME query parameter in
// one destination's URL overrides that for it (the parameter is removed
// from the URL posted to). A named variable that is unset is a usage
// error. 2xx answers deliver a batch; 408, 425, 429, 5xx and connection
// errors are retried; other answers (401, 400, 413) drop the batch at
// once, counted as failed.
//
// A DEST containing "://" must use one of the schemes above, so a typo
// such as syslog+tpc:// is an error rather than a file of that name.
//
// # Events
//
// One JSON object per event, nested as ECS expects. Empty fields are
// omitted; findings about a capture window (missing, unobservable) have no
// source, destination or verdict, and list auditor.host_pairs instead.
//
//	{
//	  "@timestamp": "2025-03-14T09:26:55.973793Z",     last packet of the flow
//	  "ecs": {"version": "8.11.0"},
//	  "message": "blocked tcp 10.1.0.5:50432 -> 10.0.0.10:5061 (acme/sip-tls): TCP connection refused (REJ)",
//	  "event": {
//	    "id": "5eed1a2b3c4d-1",                       unique; retried batches repeat it
//	    "kind": "alert", "category": ["network"],
//	    "type": ["connection", "denied"],            "denied" for blocked; ["info"] without hosts
//	    "module": "auditor", "dataset": "auditor.findings", "action": "blocked",
//	    "severity": 73,                              info 1, low 21, medium 47, high 73, critical 99
//	    "created": "2025-03-14T09:26:56.973793Z",     when the feed emitted it
//	    "start": "2025-03-14T09:26:53.589793Z",       packet times the event covers
//	    "end": "2025-03-14T09:26:55.973793Z",
//	    "reason": "TCP connection refused (REJ)"
//	  },
//	  "rule": {"id": "acme/sip-tls",                 catalog entry, else the finding kind
//	           "name": "Allowed flow blocked: acme/sip-tls", "category": "blocked", "ruleset": "auditor"},
//	  "observer": {"name": "dc1-span", "product": "auditor", "type": "sensor"},
//	  "source": {"ip": "10.1.0.5", "port": 50432},
//	  "destination": {"ip": "10.0.0.10", "port": 5061, "domain": "sbc.example.net"},
//	  "network": {"transport": "tcp", "iana_number": "6", "type": "ipv4",
//	              "community_id": "1:St2cX2c38eJW3L9RJBJfjjk93G8="},
//	  "tls": {"client": {"server_name": "sbc.example.net"}},
//	  "auditor": {"kind": "blocked", "severity": "high", "verdict": "blocked",
//	              "vendor": "acme", "entry_id": "acme/sip-tls", "from_role": "agent", "to_role": "sbc",
//	              "app": "sip", "sni": "sbc.example.net", "server_name": "sbc.example.net",
//	              "call_id": "a84b4c76e66710@pc33", "ports": "5061/tcp",
//	              "host_pairs": ["10.1.0.0/16 -> 10.0.0.20"],   window findings only
//	              "count": 1, "repeat": true}                  repeat: follow-up events only
//	}
//
// ICMP events carry no ports (the flow's pseudo ports are ICMP types);
// network.transport is the IANA keyword (ipv6-icmp for ICMPv6). Strings
// learnt from the wire are made valid UTF-8 reversibly, as in the Parquet
// tables: a byte that is not UTF-8 becomes \xHH and a backslash \\
// (package safetext), and the result is cut to 1 KiB.
//
// # Deduplication, rate limit, drops
//
// The auditor publishes every occurrence: each judged flow with a finding,
// and each missing or unobservable entry at the end of a capture window.
// Occurrences of the same finding (what findings.parquet merges into one
// row and names by one id, verdict.Finding.Key: kind, protocol, source and
// destination address, destination port, vendor, catalog entry, and the
// name of a dns-failure; not the source port) are deduplicated per 60 s
// window: the first is emitted at once with count 1;
// those that follow within the window are counted and, when the window
// closes, reported as one follow-up event with "repeat": true, the count
// of them and event.start/end spanning them (and neither a source port nor
// a Community ID, which differ per flow). A finding that keeps occurring
// thus costs one event per window; a window that closes without repeats is
// forgotten, so the next occurrence is news again. Close emits the
// follow-ups of open windows. Windows run on the wall clock, not packet
// time: they protect the receiver however fast a replay runs.
//
// Emitted events then pass a token bucket (100 events/s, bursts of 1000);
// the excess is dropped. Publish never blocks capture: it drops the event
// when the 4096-event queue is full, and each destination has its own
// queue of the same size, so a dead receiver delays only itself. Failed
// batches are retried with exponential backoff and jitter (100 ms to 30 s,
// 10 retries, about a minute in all) and then dropped. Every drop is counted
// by reason in Stats, which the CLI prints in its summary. Delivery is at
// least once: a retried batch may arrive twice, which event.id lets the
// receiver detect.
package alerts
