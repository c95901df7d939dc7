package flow

// likelyServerPort is Zeek's IsLikelyServerPort over the likely_server_ports
// its base scripts build: every port an analyzer or tunnel decoder
// registers as a server port (Analyzer::register_for_ports and
// PacketAnalyzer::register_for_ports add their server ports to the set).
// The lists below are those registrations, by transport.
func likelyServerPort(proto uint8, port uint16) bool {
	switch proto {
	case ProtoTCP:
		return likelyTCP[port>>6]&(1<<(port&63)) != 0
	case ProtoUDP:
		return likelyUDP[port>>6]&(1<<(port&63)) != 0
	}
	return false
}

// Zeek base-script server ports, from scripts/base/protocols/*/main.zeek
// and scripts/base/packet-protocols/*/main.zeek, less DNP3's 20000 (TCP
// and UDP): it lies inside the RTP port ranges UC products allocate media
// from (Cisco 16384-32767, Asterisk 10000-20000), where a first packet from
// port 20000 is media, not a DNP3 outstation answering. This is the
// auditor's redef of likely_server_ports.
var (
	zeekTCPServerPorts = []uint16{
		21, 2811, // ftp
		22,      // ssh
		25, 587, // smtp
		53,                                        // dns
		79,                                        // finger
		80, 81, 631, 1080, 3128, 8000, 8080, 8888, // http
		88,       // krb
		135,      // dce-rpc
		139, 445, // smb
		143,       // imap
		389, 3268, // ldap
		443, 465, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223, // ssl
		502,        // modbus
		514,        // syslog
		1434, 3306, // mysql
		1883,       // mqtt
		3389,       // rdp
		5222, 5269, // xmpp
		5432,                   // postgresql
		6379,                   // redis
		6666, 6667, 6668, 6669, // irc
	}
	zeekUDPServerPorts = []uint16{
		53, 137, 5353, 5355, // dns
		67, 4011, // dhcp
		88,       // krb
		123,      // ntp
		161, 162, // snmp
		389,        // ldap
		443,        // dtls, quic
		514,        // syslog
		1812,       // radius
		3389,       // rdp (rdpeudp)
		5060,       // sip
		2123, 2152, // gtpv1
		3544, // teredo
		4754, // gre in udp
		4789, // vxlan
		5072, // ayiya
		6081, // geneve
	}
	likelyTCP = portSet(zeekTCPServerPorts)
	likelyUDP = portSet(zeekUDPServerPorts)
)

func portSet(ports []uint16) *[1024]uint64 {
	var s [1024]uint64
	for _, p := range ports {
		s[p>>6] |= 1 << (p & 63)
	}
	return &s
}
