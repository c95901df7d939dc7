package tlsinfo_test

import (
	"errors"
	"fmt"

	"github.com/ccaudit/auditor/classify/tlsinfo"
)

// A caller feeds the client side of a TCP connection as it grows, until the
// ClientHello is complete or the stream turns out not to be TLS.
func Example() {
	// A minimal TLS 1.2 ClientHello for example.com, cut into two segments.
	hello := []byte{
		0x16, 0x03, 0x01, 0x00, 0x43, // record: handshake, TLS 1.0, 67 bytes
		0x01, 0x00, 0x00, 0x3f, // ClientHello, 63 bytes
		0x03, 0x03, // client_version TLS 1.2
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // random
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x00,                   // session id
		0x00, 0x02, 0xc0, 0x2f, // one cipher suite
		0x01, 0x00, // null compression
		0x00, 0x14, // extensions, 20 bytes
		0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x00, 0x07, // server_name
		'e', 'x', 'a', 'm', 'p', 'l', 'e',
		0x00, 0x17, 0x00, 0x00, // extended_master_secret
	}
	segments := [][]byte{hello[:20], hello[20:]}

	var (
		stream []byte
		h      tlsinfo.ClientHello
	)
	for _, seg := range segments {
		stream = append(stream, seg...)
		err := tlsinfo.ParseClientHello(stream, &h)
		if errors.Is(err, tlsinfo.ErrNeedMore) {
			fmt.Println("need more")
			continue
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(tlsinfo.VersionName(h.Version()), h.SNI())
		fmt.Println(h.JA4())
		fmt.Println(h.JA3Hex())
	}
	// Output:
	// need more
	// TLS 1.2 example
	// t12d010200_f06271c2b022_1ca028f07214
	// 27d2d7cea6043510859868d88298910f
}
