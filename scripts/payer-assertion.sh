#!/usr/bin/env bash
# A payer client's side of SMART Backend Services with openssl alone: its public key set to register, and a
# client assertion (RS384) to trade for an access token at utilreview's POST /payer/auth/token.
#
#   scripts/payer-assertion.sh jwks KEY.pem KID
#       print the JWK Set of the RSA key's public half (for the clients file: jwks, or published at jwks_url)
#   scripts/payer-assertion.sh assertion KEY.pem KID CLIENT_ID TOKEN_URL
#       print a client assertion: iss = sub = CLIENT_ID, aud = TOKEN_URL, exp 4 minutes ahead, a random jti
#
# Make a key with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out KEY.pem
# (ES384 with a P-384 key is accepted too; openssl writes ECDSA signatures in DER, which a JWS cannot use
# as they are, so this script does RS384 only.) Needs bash, openssl and xxd.
set -euo pipefail

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

case "${1:-}" in
jwks)
  [ $# -eq 3 ] || usage
  key=$2 kid=$3
  n=$(openssl rsa -in "$key" -noout -modulus | cut -d= -f2 | xxd -r -p | b64url)
  e=$(openssl rsa -in "$key" -noout -text 2>/dev/null | sed -n 's/^publicExponent: \([0-9]*\).*/\1/p')
  [ "$e" = 65537 ] || { echo "payer-assertion.sh: public exponent $e: want 65537" >&2; exit 1; }
  printf '{"keys":[{"kty":"RSA","kid":"%s","alg":"RS384","use":"sig","n":"%s","e":"AQAB"}]}\n' "$kid" "$n"
  ;;
assertion)
  [ $# -eq 5 ] || usage
  key=$2 kid=$3 client=$4 url=$5
  now=$(date +%s)
  header=$(printf '{"alg":"RS384","typ":"JWT","kid":"%s"}' "$kid" | b64url)
  payload=$(printf '{"iss":"%s","sub":"%s","aud":"%s","iat":%d,"exp":%d,"jti":"%s"}' \
    "$client" "$client" "$url" "$now" $((now + 240)) "$(openssl rand -hex 16)" | b64url)
  sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha384 -sign "$key" -binary | b64url)
  printf '%s.%s.%s\n' "$header" "$payload" "$sig"
  ;;
*) usage ;;
esac
