/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts shared by the sensor program and its Go loader. bpf2go turns the
 * structs below into Go types (sensorFlowKey, sensorFlowCounters,
 * sensorRecordHdr); the Go side converts a flow_key to flow.Key in one
 * function, flowKeyOf in counters.go.
 */
#ifndef AUDITOR_SENSOR_H
#define AUDITOR_SENSOR_H

/* Largest packet prefix a ring record carries. */
#define MAX_SNAP 2048

/*
 * One direction of a flow, as the sender sent it: user space folds the two
 * directions into one bidirectional flow.Key. Addresses are 16 bytes, IPv4
 * as IPv4-mapped IPv6 (::ffff:a.b.c.d) with is4 set, as the decoder stores
 * them. Ports are in host byte order.
 */
struct flow_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 is4;
	__u8 pad[2];
};

/*
 * Counters of the packets of one flow direction that were NOT sent to the
 * ring buffer. They are cumulative: user space remembers what it read last
 * and reports the difference. seen counts every packet the entry saw, ring
 * or not, to pick the first packets of a flow.
 */
struct flow_counters {
	__u64 packets;
	__u64 bytes;   /* frame bytes as on the wire */
	__u64 payload; /* transport payload bytes per the IP header */
	__u64 seen;
	__u64 first_ns; /* CLOCK_MONOTONIC */
	__u64 last_ns;  /* of the last packet counted here */
	__u32 flags;    /* union of TCP flags */
	__u32 pad;
};

/* Why a packet went to the ring buffer. */
enum record_reason {
	REASON_FIRST = 1, /* among the first packets of its flow direction */
	REASON_TCP_CONTROL,
	REASON_ICMP,
	REASON_APP_PORT, /* SIP, DNS or another configured port */
	REASON_TLS_HANDSHAKE,
	REASON_FRAGMENT,
	REASON_TUNNEL,
	REASON_OTHER,    /* not TCP, UDP or SCTP, or a header the sensor does not key */
	REASON_MAP_FULL, /* no room in the flow map: the ring carries it instead */
};

enum record_hook {
	HOOK_TC_INGRESS = 1,
	HOOK_TC_EGRESS,
	HOOK_XDP,
};

/* Header of each ring buffer record; cap_len bytes of the frame follow. */
struct record_hdr {
	__u64 ts_ns;    /* CLOCK_MONOTONIC */
	__u32 wire_len; /* frame length, a VLAN tag the device stripped included */
	__u32 ifindex;
	__u16 cap_len;
	__u16 vlan_tci;   /* tag the device stripped (vlan_proto != 0), to put back */
	__u16 vlan_proto; /* 0: none stripped */
	__u8 hook;
	__u8 reason;
};

/* Indexes of the per-CPU stats array. */
enum stat_index {
	STAT_RING_RECORDS,  /* packets sent to the ring buffer */
	STAT_MAP_PACKETS,   /* packets counted in the flow map */
	STAT_RING_FULL,     /* ring full: packet counted in the map, its bytes lost */
	STAT_MAP_FULL,      /* flow map full: packet sent to the ring instead */
	STAT_LOST,          /* ring and map full: packet not counted at all */
	STAT_NON_IP,        /* frames that are neither IPv4 nor IPv6 (ARP, LLDP, ...) */
	STAT_COUNT,
};

#endif
