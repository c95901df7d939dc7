// Package compliance turns the auditor's Parquet output into the nightly
// compliance report: one screen that says whether each site and vendor was
// compliant in a time window, then the detail behind it.
//
//	auditor report --in DIR [--from DATE --to DATE] [--site FILE]... [--previous FILE.json]
//	               [--format html|md|json] --out FILE...
//
// # Input
//
// [Run] is the whole report run of the command: it loads the catalogs
// (the built-in one and --catalog files), the --site inventories (hashed
// for the report's provenance) and the --previous report, refuses a
// directory whose run manifests do not match its tables, and reads DIR.
// [Load] reads either layout under DIR ([Discover] lists the files):
//
//   - replay's flat output: DIR/flows.parquet, DIR/findings.parquet,
//     DIR/calls.parquet;
//   - capture's Hive partitions, from any number of sensors:
//     DIR/date=YYYY-MM-DD/hour=HH/flows-<sensor>-<seq>.parquet and the
//     findings- and calls- files alike.
//
// The window [--from, --to) selects files by partition (a partition
// outside it is not opened) and rows by time: flows by first_seen, calls
// by start_time, findings whose first_seen..last_seen span meets it. A
// file that cannot be read is listed in the report and skipped; the rest
// of the night is still reported. Rows are aggregated file by file and
// not kept, so memory follows the distinct findings, entries and hosts,
// not the flows.
//
// # What the report says
//
//   - Verdict per site and vendor. A flow belongs to the first --site
//     inventory that lists either host (without --site, one site "all
//     hosts"). A site or vendor is compliant when the window shows no
//     finding of severity low or above (info findings, such as
//     unobservable entries, are listed but do not count). So the
//     plaintext flows on entries that require TLS and the media problems
//     (a stream outside the documented ranges, one-way, negotiated and
//     never seen, or rated poor) count by the verdict engine's findings
//     (plaintext-on-tls-port, media-outside-documented-range,
//     media-one-way, media-missing, poor-voice-quality), once each: the
//     call records behind the media findings are listed, not counted
//     again.
//   - Catalog entries: per entry named by a flow or finding, the working
//     flows seen, blocked attempts, capture windows it was missing in,
//     flows on its ports between the wrong roles, and host pairs.
//     Status: missing, blocked, intermittent (missing in some windows,
//     seen in others), partly-blocked, unexpected-only, unobservable,
//     seen.
//   - Top unexpected and wrong-direction flows, and the hosts that source
//     the most unexpected flows.
//   - SIP calls and media: from calls.parquet when present (calls,
//     answers, failures, codecs, RTP loss and jitter, negotiated ports
//     plotted against the documented ranges, one-way and missing streams,
//     voice quality), else the ports of the media flows the parsers
//     recognised. The report decides none of the media judgements
//     itself; each comes from its owner, as the next three items say.
//   - Documented media ports are the verdict engine's
//     (verdict.DocumentedMediaPorts, the union its port-only mode judges
//     by): the media entries' ranges of the site's vendors, with the
//     site's overrides and area parameters, and the From side's ranges
//     (from_ports, shown "(from side)"). Broad ranges (Imagicle's ">1024",
//     genesys-pureconnect/asr-rtp's 10000-60000) are documented ranges
//     too, as for the engine. Membership is the catalog's
//     (catalog.PortRange.Contains), so an /even RTP or /odd RTCP range
//     holds only its even or odd ports.
//   - Which streams are out of their documented range is the verdict
//     engine's role-aware judgement (media-outside-documented-range
//     findings), not recomputed here.
//   - One-way and missing streams and poor voice quality are the SIP call
//     tracker's (calls.parquet one_way, missing, poor_quality, from which
//     the engine raises media-one-way, media-missing and
//     poor-voice-quality). A call is a problem call only when the tracker
//     marked one of its streams so; a stream's loss alone makes none (the
//     tracker's E-model rating weighs it). Without call records the
//     report says "No call records in the window: media judgements
//     unavailable" and counts no one-way stream: a flow's packet counts
//     do not tell a one-way stream from a sendonly one or a flow cut by
//     the capture.
//   - TLS posture: flows per negotiated version (SSL 3.0, TLS 1.0 and 1.1
//     flagged, RFC 8996), and plaintext on TLS ports, from the
//     plaintext-on-tls-port findings.
//   - Capture loss, from the flows files' metadata keys
//     [MetaPacketsReceived] and [MetaPacketsDropped]; a file without them
//     is reported as "not recorded", never as zero loss. Beside it, what
//     the SIP tracker refused or dropped at its bounds (INVITEs past the
//     concurrent-call cap, media streams past the per-call or per-SDP cap,
//     oversized SIP messages), summed from the flows files' auditor.sip.* keys
//     (parquetout.MetaSIPCallsRefused and its siblings) when they carry
//     them: calls and media in those were not followed.
//   - Changes since the previous report: --previous takes a previous
//     report's JSON output and lists new and resolved findings, matched
//     by [Finding].Key: the verdict engine's finding_id, or kind,
//     protocol, hosts, port and entry for findings of files written
//     before that column (a previous report keyed so still matches). A
//     missing file is noted in the report rather than failing the first
//     night.
//
// Findings that several files report are merged by key: counts add up,
// except capture windows of missing and unobservable entries that two
// sensors covering the same hour both report, which count once. A merged
// finding keeps the highest severity by the engine's severity_rank, which
// also orders the findings tables; rows of files written before that
// column are ranked by the severity's name.
//
// # Formats
//
// HTML is one self-contained file: inline CSS and SVG charts (findings
// over time, flows by verdict, media ports against documented ranges), no
// script, font, image or network reference, since these networks are
// often air-gapped. Every value is escaped by html/template. Markdown
// suits tickets and mail; JSON ([Report], schema [SchemaVersion]) is for
// machines and the next night's --previous.
//
// # Nightly run
//
// examples/auditor-report.service and examples/auditor-report.timer run
// the report at 01:30 UTC for the previous UTC day, keep a dated HTML and
// JSON per night and compare each night with the last (latest.json). The
// service has no network (PrivateNetwork=yes) and writes only the report
// directory. Where systemd is not used, the same as a cron line:
//
//	30 1 * * * auditor d=$(date -u -d yesterday +\%F); auditor report --in /var/lib/auditor/out --from $d --to $d --site /etc/auditor/site.yaml --previous /var/lib/auditor/reports/latest.json --out /var/lib/auditor/reports/report-$d.html --out /var/lib/auditor/reports/report-$d.json --out /var/lib/auditor/reports/latest.json
//
// # Beyond one machine
//
// The directory layout is a Hive-partitioned table: DuckDB (or Spark,
// Trino, pandas with pyarrow) reads every sensor's files as one table,
//
//	SELECT * FROM read_parquet('DIR/**/flows-*.parquet', hive_partitioning = true)
//
// with date and hour as columns that prune partitions. QUERIES.md gives a
// query for each question the report answers, for archives too large for
// one report run or for questions the report does not ask.
package compliance
