#!/bin/sh
# Makes the generated upgrade captures of ../ (see ../SOURCES.md): a real
# client (OpenSSL's s_client, curl) against upgrade_peer.py or s_server on
# loopback, captured with tcpdump. Needs openssl, curl, python3, tcpdump.
# Run from this directory: ./make_captures.sh OUTDIR [ONLY_NAME]
set -eu
out=${1:?output directory}
only=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-subj /CN=upgrade.test -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

# capture NAME PORT PEER_PROTO CLIENT_COMMAND...
capture() {
	name=$1 port=$2 peer=$3
	shift 3
	if [ -n "$only" ] && [ "$only" != "$name" ]; then return 0; fi
	tcpdump -i lo -U -s 0 -w "$out/$name" "tcp port $port" 2>/dev/null &
	dump=$!
	sleep 1
	python3 upgrade_peer.py "$peer" "$port" "$tmp/cert.pem" "$tmp/key.pem" &
	srv=$!
	sleep 1.5
	timeout 10 "$@" </dev/null >/dev/null 2>&1 || true
	wait "$srv" || true
	sleep 1
	kill "$dump"
	wait "$dump" || true
}

capture ldap-starttls.pcap 47101 ldap \
	sh -c 'sleep 1 | openssl s_client -connect 127.0.0.1:47101 -starttls ldap -servername ldap.upgrade.test'
capture xmpp-starttls.pcap 47102 xmpp \
	sh -c 'sleep 1 | openssl s_client -connect 127.0.0.1:47102 -starttls xmpp -xmpphost upgrade.test -servername xmpp.upgrade.test'
capture postgres-sslrequest.pcap 47103 postgres \
	sh -c 'sleep 1 | openssl s_client -connect 127.0.0.1:47103 -starttls postgres -servername pg.upgrade.test'
capture socks4.pcap 47104 socks4 \
	curl -sk --socks4 127.0.0.1:47104 https://127.0.0.1:443/
capture socks4a.pcap 47105 socks4a \
	curl -sk --socks4a 127.0.0.1:47105 https://socks4a.upgrade.test:8443/
capture socks5.pcap 47106 socks5 \
	curl -sk --socks5-hostname 127.0.0.1:47106 https://socks5.upgrade.test/
capture socks5-auth.pcap 47107 socks5auth \
	curl -sk --socks5 user:secret@127.0.0.1:47107 https://[::1]:8443/

if [ -n "$only" ] && [ "$only" != tls-unrecognized-name.pcap ]; then exit 0; fi
# A warning alert (unrecognized_name) before the ServerHello: s_server
# serves another name and warns when the client asks for a different one.
tcpdump -i lo -U -s 0 -w "$out/tls-unrecognized-name.pcap" "tcp port 47108" 2>/dev/null &
dump=$!
sleep 1
openssl s_server -accept 127.0.0.1:47108 -cert "$tmp/cert.pem" -key "$tmp/key.pem" \
	-servername served.upgrade.test -cert2 "$tmp/cert.pem" -key2 "$tmp/key.pem" -naccept 1 -quiet >/dev/null 2>&1 &
srv=$!
sleep 1.5
sleep 1 | timeout 10 openssl s_client -connect 127.0.0.1:47108 -tls1_2 -servername other.upgrade.test >/dev/null 2>&1 || true
wait "$srv" || true
sleep 1
kill "$dump"
wait "$dump" || true
