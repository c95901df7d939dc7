package decode

import "encoding/binary"

// nfulaPayload is the NFLOG TLV type that holds the logged packet.
const nfulaPayload = 9

// nflogPayload finds the packet inside a LINKTYPE_NFLOG record: a 4-byte
// header (address family, version, resource ID) and then TLVs whose length
// and type fields are in the byte order of the host that captured them
// (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html). The length
// includes the 4-byte TLV header and each TLV is padded to 4 bytes.
//
// It returns the payload, nil and ok when the record logged no packet, or
// !ok for a malformed record.
func nflogPayload(data []byte) (payload []byte, ok bool) {
	if len(data) < 4 {
		return nil, false
	}
	var order binary.ByteOrder = binary.LittleEndian
	for off := 4; off < len(data); {
		if len(data)-off < 4 {
			return nil, false
		}
		tlv := data[off:]
		n := int(order.Uint16(tlv))
		if off == 4 && (n < 4 || n > len(tlv)) {
			// The first TLV settles the capturing host's byte order.
			order = binary.BigEndian
			n = int(order.Uint16(tlv))
		}
		if n < 4 || n > len(tlv) {
			return nil, false
		}
		// The top two bits are netlink's nested and byte-order flags.
		if order.Uint16(tlv[2:])&0x3fff == nfulaPayload {
			return tlv[4:n], true
		}
		off += (n + 3) &^ 3
	}
	return nil, true
}
