// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The auditor's in-kernel sensor. Every IP packet ends in exactly one
 * place: a ring buffer record (a real frame prefix that user space decodes
 * like a captured frame), the per-direction counters of the flow map, or
 * the STAT_LOST counter: when both are full, or when the ring is full for
 * a tunnel's packet, whose outer key is not its flow. The ring gets what the
 * protocol parsers need; the map absorbs the steady bulk (RTP after its
 * first packets, TCP data).
 */
#include "abi.h"
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sensor.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before loading (CollectionSpec.Variables). */
volatile const __u32 first_packets_tcp = 8;
volatile const __u32 first_packets_udp = 16;
volatile const __u32 first_packets_other = 8;
volatile const __u32 snap_small = 256;
volatile const __u32 snap_large = MAX_SNAP;

/*
 * A plain preallocated hash shared by all CPUs, updated with atomics: an
 * LRU map would evict live entries, and with them counts not yet read,
 * without telling anyone; a per-CPU map multiplies its memory by the CPU
 * count and splits the first-packets rule across CPUs. When this one is
 * full the insert fails, which is counted, and the packet takes the ring.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* the loader sets Options.MaxFlows */
	__type(key, struct flow_key);
	__type(value, struct flow_counters);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* the loader sets Options.RingSize */
} records SEC(".maps");

/* Non-zero for ports whose packets all go to the ring (DNS, SIP, ...). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} ring_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct record {
	struct record_hdr hdr;
	__u8 data[MAX_SNAP];
};

/* Staging area for a record: too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct record);
} scratch SEC(".maps");

struct packet {
	struct flow_key key;
	__u32 len;       /* bytes in the buffer */
	__u32 wire_len;  /* len plus a stripped VLAN tag */
	__u32 payload;   /* transport payload per the IP header */
	__u32 tcp_flags;
	__u8 reason;     /* non-zero: the packet goes to the ring */
	__u8 large;      /* the parsers want its payload: use snap_large */
};

static __always_inline void count(__u32 index)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &index);

	if (v)
		(*v)++;
}

static __always_inline long load(void *ctx, bool xdp, __u32 off, void *to, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

static __always_inline void to_ring(struct packet *p, __u8 reason, __u8 large)
{
	if (!p->reason)
		p->reason = reason;
	p->large |= large;
}

static __always_inline bool ring_port(__u16 port)
{
	__u32 k = port;
	__u8 *v = bpf_map_lookup_elem(&ring_ports, &k);

	return v && *v;
}

/*
 * UDP ports on which the user-space decoder opens a tunnel (GTP-U, Teredo,
 * GRE-in-UDP, VXLAN, AYIYA, Geneve, as capture/decode's port constants).
 * It keys such a datagram by its inner flow and records the outer one as
 * a tunnel, so every datagram to or from one of these ports goes to the
 * ring: counted here, it would come back as an outer UDP flow, judged as
 * traffic, and the inner flows would lose its packets. Either port: the
 * decoder checks which end matters, and a datagram it does not open is
 * still a flow, only ringed. TestTunnelPortsMatchDecoder compares this
 * list with the decoder's. Most datagrams (RTP, SIP, DNS) fail the range
 * test, the first compare.
 */
#define TUNNEL_PORT_MIN 2152
#define TUNNEL_PORT_MAX 6081

static __always_inline bool tunnel_port(__u16 port)
{
	if (port < TUNNEL_PORT_MIN || port > TUNNEL_PORT_MAX)
		return false;
	switch (port) {
	case 2152: /* GTP-U */
	case 3544: /* Teredo */
	case 4754: /* GRE-in-UDP */
	case 4789: /* VXLAN */
	case 5072: /* AYIYA */
	case 6081: /* Geneve */
		return true;
	}
	return false;
}

/*
 * teredo_at reports whether off holds an IPv6 header with a Teredo address
 * (2001:0::/32) as source or destination: the decoder's test for Teredo
 * away from port 3544, between a client and a relay.
 */
static __always_inline bool teredo_at(void *ctx, bool xdp, __u32 off)
{
	__u8 h[28]; /* up to the first 4 bytes of the destination address */

	if (load(ctx, xdp, off, h, sizeof(h)) < 0 || h[0] >> 4 != 6)
		return false;
	return (h[8] == 0x20 && h[9] == 0x01 && h[10] == 0 && h[11] == 0) ||
	       (h[24] == 0x20 && h[25] == 0x01 && h[26] == 0 && h[27] == 0);
}

static __always_inline void ports(struct packet *p, __u16 sport, __u16 dport)
{
	p->key.sport = bpf_ntohs(sport);
	p->key.dport = bpf_ntohs(dport);
	if (ring_port(p->key.sport) || ring_port(p->key.dport))
		to_ring(p, REASON_APP_PORT, 1);
}

/* parse fills p from the frame; it returns false for a frame that is not IP. */
static __always_inline bool parse(void *ctx, bool xdp, struct packet *p)
{
	__u8 eth[14];
	__u32 off = 14;
	__u16 proto;
	__u32 l4, l4len;
	__u8 ipproto;

	if (load(ctx, xdp, 0, eth, sizeof(eth)) < 0)
		return false;
	proto = (__u16)eth[12] << 8 | eth[13];
#pragma unroll
	for (int i = 0; i < 2; i++) {
		__u8 tag[4];

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if (load(ctx, xdp, off, tag, sizeof(tag)) < 0)
			return false;
		proto = (__u16)tag[2] << 8 | tag[3];
		off += 4;
	}

	if (proto == ETH_P_IP) {
		__u8 ip[20];
		__u32 hlen, total;

		if (load(ctx, xdp, off, ip, sizeof(ip)) < 0 || ip[0] >> 4 != 4) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		hlen = (ip[0] & 0x0f) * 4;
		total = (__u32)ip[2] << 8 | ip[3];
		if (hlen < 20 || total < hlen) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		/* Fragments go whole to user space, which reassembles them. */
		if (((__u16)ip[6] << 8 | ip[7]) & 0x3fff) {
			to_ring(p, REASON_FRAGMENT, 1);
			return true;
		}
		p->key.is4 = 1;
		p->key.src[10] = p->key.src[11] = 0xff;
		p->key.dst[10] = p->key.dst[11] = 0xff;
		__builtin_memcpy(&p->key.src[12], &ip[12], 4);
		__builtin_memcpy(&p->key.dst[12], &ip[16], 4);
		ipproto = ip[9];
		l4 = off + hlen;
		l4len = total - hlen;
	} else if (proto == ETH_P_IPV6) {
		__u8 ip[40];

		if (load(ctx, xdp, off, ip, sizeof(ip)) < 0 || ip[0] >> 4 != 6) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		__builtin_memcpy(p->key.src, &ip[8], 16);
		__builtin_memcpy(p->key.dst, &ip[24], 16);
		ipproto = ip[6];
		l4 = off + 40;
		l4len = (__u32)ip[4] << 8 | ip[5];
	} else {
		return false;
	}
	p->key.proto = ipproto;

	switch (ipproto) {
	case IPPROTO_TCP: {
		__u8 tcp[20];
		__u8 rec[3];
		__u32 doff;

		if (load(ctx, xdp, l4, tcp, sizeof(tcp)) < 0) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		doff = (tcp[12] >> 4) * 4;
		if (doff < 20 || doff > l4len) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		p->tcp_flags = tcp[13];
		p->payload = l4len - doff;
		if (p->tcp_flags & 0x07) /* FIN, SYN, RST */
			to_ring(p, REASON_TCP_CONTROL, 0);
		ports(p, *(__u16 *)&tcp[0], *(__u16 *)&tcp[2]);
		/* A TLS handshake record: ClientHello, ServerHello, certificates. */
		if (p->payload >= 3 && load(ctx, xdp, l4 + doff, rec, sizeof(rec)) == 0 &&
		    rec[0] == 0x16 && rec[1] == 0x03 && rec[2] <= 0x04)
			to_ring(p, REASON_TLS_HANDSHAKE, 1);
		return true;
	}
	case IPPROTO_UDP: {
		__u8 udp[8];
		__u8 rec[2];
		__u16 ulen;

		if (load(ctx, xdp, l4, udp, sizeof(udp)) < 0) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		ulen = (__u16)udp[4] << 8 | udp[5];
		if (ulen < 8 || ulen > l4len) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		p->payload = ulen - 8;
		ports(p, *(__u16 *)&udp[0], *(__u16 *)&udp[2]);
		/* The decoder keys tunnels by their inner flow: only it can. */
		if (tunnel_port(p->key.sport) || tunnel_port(p->key.dport))
			to_ring(p, REASON_TUNNEL, 1);
		if (p->payload < 2 || load(ctx, xdp, l4 + 8, rec, sizeof(rec)) < 0)
			return true;
		/* DTLS handshakes, as WebRTC uses to key SRTP. */
		if (rec[0] == 0x16 && rec[1] == 0xfe)
			to_ring(p, REASON_TLS_HANDSHAKE, 1);
		/* Teredo on any port: IPv6 right after the UDP header, or after
		 * an 8-byte origin indication. RTP (0x80) never pays the load. */
		else if ((rec[0] >> 4 == 6 && p->payload >= 40 && teredo_at(ctx, xdp, l4 + 8)) ||
			 (rec[0] == 0 && rec[1] == 0 && p->payload >= 48 && teredo_at(ctx, xdp, l4 + 16)))
			to_ring(p, REASON_TUNNEL, 1);
		return true;
	}
	case IPPROTO_SCTP: {
		__u8 sctp[4];

		if (load(ctx, xdp, l4, sctp, sizeof(sctp)) < 0 || l4len < 12) {
			to_ring(p, REASON_OTHER, 0);
			return true;
		}
		p->payload = l4len - 12;
		ports(p, *(__u16 *)&sctp[0], *(__u16 *)&sctp[2]);
		return true;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* Errors quote the flow they are about; the decoder keys echo
		 * requests and replies by type pairs. Both are its job. */
		to_ring(p, REASON_ICMP, 0);
		return true;
	case IPPROTO_GRE:
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		to_ring(p, REASON_TUNNEL, 1);
		return true;
	}
	/* IPv6 extension headers and protocols without ports. */
	to_ring(p, REASON_OTHER, 0);
	return true;
}

/* emit sends a prefix of the frame to the ring; it returns 0 on success. */
static __always_inline int emit(void *ctx, bool xdp, __u8 hook, struct packet *p, __u8 reason,
				__u32 ifindex, __u16 vlan_tci, __u16 vlan_proto)
{
	__u32 zero = 0;
	struct record *r = bpf_map_lookup_elem(&scratch, &zero);
	__u32 snap = p->large ? snap_large : snap_small;
	__u32 n = p->len;

	if (!r)
		return -1;
	if (n > snap)
		n = snap;
	if (n > MAX_SNAP)
		n = MAX_SNAP;
	if (n < 1)
		return -1;
	if (load(ctx, xdp, 0, r->data, n) < 0)
		return -1;
	r->hdr.ts_ns = bpf_ktime_get_ns();
	r->hdr.wire_len = p->wire_len;
	r->hdr.ifindex = ifindex;
	r->hdr.cap_len = n;
	r->hdr.vlan_tci = vlan_tci;
	r->hdr.vlan_proto = vlan_proto;
	r->hdr.hook = hook;
	r->hdr.reason = reason;
	if (bpf_ringbuf_output(&records, r, sizeof(r->hdr) + n, 0) < 0)
		return -1;
	count(STAT_RING_RECORDS);
	return 0;
}

static __always_inline __u32 first_packets(__u8 proto)
{
	if (proto == IPPROTO_TCP)
		return first_packets_tcp;
	if (proto == IPPROTO_UDP)
		return first_packets_udp;
	return first_packets_other;
}

static __always_inline void handle(void *ctx, bool xdp, __u8 hook, __u32 len, __u32 ifindex,
				   __u16 vlan_tci, __u16 vlan_proto)
{
	struct packet p = {};
	struct flow_counters *c;
	__u64 now;

	p.len = len;
	p.wire_len = len + (vlan_proto ? 4 : 0);
	if (!parse(ctx, xdp, &p)) {
		count(STAT_NON_IP);
		return;
	}
	if (p.reason) {
		if (emit(ctx, xdp, hook, &p, p.reason, ifindex, vlan_tci, vlan_proto) == 0)
			return;
		/* Its bytes are lost; its counts are not. */
		count(STAT_RING_FULL);
		if (p.reason != REASON_APP_PORT && p.reason != REASON_TLS_HANDSHAKE &&
		    p.reason != REASON_TCP_CONTROL) {
			/* Only the decoder can key it (a tunnel's inner flow):
			 * counted under the outer key it would become a flow of
			 * its own. */
			count(STAT_LOST);
			return;
		}
	}

	now = bpf_ktime_get_ns();
	c = bpf_map_lookup_elem(&flows, &p.key);
	if (!c) {
		struct flow_counters fresh = {.first_ns = now};

		/* EEXIST (another CPU won the race) is fine; E2BIG is full. */
		bpf_map_update_elem(&flows, &p.key, &fresh, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&flows, &p.key);
		if (!c) {
			count(STAT_MAP_FULL);
			if (!p.reason &&
			    emit(ctx, xdp, hook, &p, REASON_MAP_FULL, ifindex, vlan_tci, vlan_proto) == 0)
				return;
			if (!p.reason)
				count(STAT_RING_FULL);
			count(STAT_LOST);
			return;
		}
	}
	if (!p.reason && __sync_fetch_and_add(&c->seen, 1) < first_packets(p.key.proto)) {
		if (emit(ctx, xdp, hook, &p, REASON_FIRST, ifindex, vlan_tci, vlan_proto) == 0)
			return;
		count(STAT_RING_FULL);
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, p.wire_len);
	__sync_fetch_and_add(&c->payload, p.payload);
	if (p.tcp_flags)
		__sync_fetch_and_or(&c->flags, p.tcp_flags);
	c->last_ns = now;
	count(STAT_MAP_PACKETS);
}

static __always_inline void handle_skb(struct __sk_buff *skb, __u8 hook)
{
	__u16 tci = 0, tpid = 0;

	if (skb->vlan_present) {
		tci = skb->vlan_tci;
		tpid = bpf_ntohs(skb->vlan_proto);
	}
	handle(skb, false, hook, skb->len, skb->ifindex, tci, tpid);
}

SEC("tc")
int sensor_ingress(struct __sk_buff *skb)
{
	handle_skb(skb, HOOK_TC_INGRESS);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int sensor_egress(struct __sk_buff *skb)
{
	handle_skb(skb, HOOK_TC_EGRESS);
	return TC_ACT_UNSPEC;
}

SEC("xdp")
int sensor_xdp(struct xdp_md *ctx)
{
	handle(ctx, true, HOOK_XDP, bpf_xdp_get_buff_len(ctx), ctx->ingress_ifindex, 0, 0);
	return XDP_PASS;
}
