// Package dnsinfo parses DNS messages and remembers which names clients
// resolved to which addresses, so flows can be labelled with the name their
// client asked for instead of a bare IP.
//
// # Parsing
//
// Parse is a hand-written decoder rather than golang.org/x/net/dns/dnsmessage:
// the auditor needs only the header, the questions and the A/AAAA/CNAME
// answers, must keep going on the broken messages a passive tap sees (and
// say at which record and byte offset they broke), and should not pull in a
// module for about two hundred lines. It checks what keeps it safe on
// hostile input: every length against the message, compression pointers
// (at most 127 per name, which bounds loops), the 255-byte wire limit on
// names and reserved label types. Records of other types (NAPTR, OPT, RRSIG,
// SRV, ...) are skipped by RDLENGTH and counted.
//
// Names are returned in presentation form, lower case, without the final
// dot, as slices of a byte arena inside the Message. The arena and the
// record slices are reused by the next Parse into the same Message, so in
// steady state Parse allocates nothing; copy a name (string(name)) to keep
// it. Parse is stateless: any number of goroutines may parse into their own
// Messages.
//
// SplitTCP cuts the two-byte length-prefixed messages of DNS over TCP out
// of a reassembled stream.
//
// # Cache
//
// Cache keeps, for every address in an answer, the question name under two
// keys: (client, address), which answers "what did this client ask for
// before connecting here", and the address alone, for flows whose
// originator never saw the answer itself (it was received by a resolver or
// another host behind it). Entries expire at answer time plus the record's
// TTL clamped to [MinTTL, MaxTTL]; the cache is bounded and evicts with
// CLOCK. Failed responses (NXDOMAIN, SERVFAIL, REFUSED, ...) are counted per
// question name in a bounded table. A Cache is safe for concurrent use.
//
// All times are unix nanoseconds, as in package flow.
package dnsinfo
