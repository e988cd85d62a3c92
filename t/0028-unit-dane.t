#!/bin/sh
DANE_TEST_DATA=$(dirname "$0")/data/dane
export DANE_TEST_DATA
CMOCKA_MESSAGE_OUTPUT=TAP exec "${MXKIT_BIN:-$(dirname "$0")/../bin}/unit/test_dane"
