package sipcall

import "testing"

// IsMediaApp admits exactly the media labels End gives; the catalog's
// entries name the same ones (lower case, as the catalog writes App).
func TestIsMediaApp(t *testing.T) {
	for app, want := range map[string]bool{
		"rtp": true, "rtcp": true, "udptl": true,
		"": false, "sip": false, "srtp": false, "RTP": false, "stun": false, "dtls": false,
	} {
		if got := IsMediaApp(app); got != want {
			t.Errorf("IsMediaApp(%q) = %v, want %v", app, got, want)
		}
	}
	for k, name := range kindNames {
		if got := IsMediaApp(name); got != (k != int(kindNone)) {
			t.Errorf("label %q of kind %d: IsMediaApp %v", name, k, got)
		}
	}
}
