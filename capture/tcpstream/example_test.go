package tcpstream_test

import (
	"fmt"

	"github.com/ccaudit/auditor/capture/tcpstream"
)

func ExampleBuffer() {
	var b tcpstream.Buffer
	b.Init(64 << 10)
	const syn = 0x02
	b.Add(1000, syn, nil)            // the ISN; data starts at 1001
	b.Add(1006, 0, []byte(" world")) // arrives early: held
	b.Add(1001, 0, []byte("hello"))  // fills the hole
	b.Add(1001, 0, []byte("hello"))  // a retransmission: ignored
	fmt.Printf("%q gaps=%d\n", b.Bytes(), b.Gaps())
	b.Consume(len("hello "))
	fmt.Printf("%q\n", b.Bytes())
	// Output:
	// "hello world" gaps=0
	// "world"
}
