#!/bin/sh
# mkkey.sh rsa|ed25519 SELECTOR DOMAIN OUT.pem [BITS]
#
# Make a private key with openssl (independent of dkimsign --keygen, so the
# peer-signs-we-verify tests do not lean on our own key code) and print its
# DKIM key record as a zone-file line, the TXT strings split at 250 bytes.
# RSA keys are written as PKCS#1 ("BEGIN RSA PRIVATE KEY"), which every peer
# reads; Ed25519 as PKCS#8.
set -eu
type=$1 sel=$2 dom=$3 out=$4 bits=${5:-2048}
case $type in
rsa)
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$bits" 2>/dev/null |
		openssl rsa -traditional -out "$out" 2>/dev/null
	p=$(openssl pkey -in "$out" -pubout -outform DER | base64 -w0)
	k=rsa
	;;
ed25519)
	openssl genpkey -algorithm ED25519 -out "$out"
	# raw 32-byte public key = the tail of the DER SubjectPublicKeyInfo
	p=$(openssl pkey -in "$out" -pubout -outform DER | tail -c 32 | base64 -w0)
	k=ed25519
	;;
*) echo "mkkey: unknown type $type" >&2; exit 64 ;;
esac
chmod 600 "$out"
txt="v=DKIM1; k=$k; p=$p"
printf '%s._domainkey.%s. IN TXT (' "$sel" "$dom"
while [ -n "$txt" ]; do
	chunk=$(printf '%s' "$txt" | cut -c1-250)
	txt=$(printf '%s' "$txt" | cut -c251-)
	printf ' "%s"' "$chunk"
done
printf ' )\n'
