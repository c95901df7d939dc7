package names_test

import (
	"context"
	"fmt"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/classify/names"
)

func Example() {
	// One cache for the whole capture; one set of dissectors per worker.
	cache := dnsinfo.NewCache(dnsinfo.DefaultConfig())
	tlsd := names.NewTLS(names.TLSConfig{})
	dnsd := names.NewDNS(cache, names.DNSConfig{})
	p, err := capture.New(capture.Config{
		Table:      flow.DefaultConfig(),
		Dissectors: []capture.Dissector{tlsd, dnsd, names.NewServerNamer(cache)},
		// The cache learns what the DNS dissectors saw at each epoch end.
		Shared: []capture.Shared{cache},
		OnFlow: func(f *flow.Flow) {
			if m := f.Meta; m != nil {
				fmt.Println(f.Dst(), m.App, m.SNI, m.ALPN, m.TLSVersion, m.JA4)
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := source.Open([]string{"../../testdata/pcaps/tls/dump_mtu300.pcap"}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	if err := p.Run(context.Background(), src); err != nil {
		fmt.Println(err)
	}
	fmt.Println(tlsd.Stats().ClientHellos.Load(), "hello,", tlsd.Stats().Certificates.Load(), "certificate")
	// Output:
	// 142.251.111.105:443 tls www.google.com h2 TLS 1.2 t12d8008h2_9cedc1f1428b_046e095b7c4a
	// 1 hello, 1 certificate
}
