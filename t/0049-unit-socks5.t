#!/bin/sh
CMOCKA_MESSAGE_OUTPUT=TAP exec "${MXKIT_BIN:-$(dirname "$0")/../bin}/unit/test_socks5"
