# t/lib-dkim.sh: helpers shared by the DKIM end-to-end tests (source it
# after t/lib.sh).
#
#   forge ARGS        t/data/dkim-forge.py (dkimpy + openssl): signatures a
#                     good signer refuses to make, key records, dkimpy's own
#                     verdict, a DKIM-Signature tag's value, field stripping
#   mkmsg FILE [N]    a plain test message (LF line endings), number N
#   crlf IN OUT       the same message with CRLF line endings
#   mbox_add MBOX MSG [SENDER]  append MSG to an mboxrd archive (From_ line,
#                     ">*From " quoted, blank line after)
# (kvget and kv_expect are t/lib.sh's.)

PY=/usr/bin/python3

# python3-dkim ships its own dkimsign and dkimverify in /usr/bin: make sure
# ours are the ones on PATH.
require_bin dkimsign dkimverify
forge() { "$PY" "$TEST_SRC/data/dkim-forge.py" "$@"; }

mkmsg() {
	n=${2:-1}
	cat >"$1" <<EOF
Received: from relay.example.test by mx.example.test; Mon, 01 Jan 2024 12:00:02 +0000
From: Alice Example <alice@example.test>
To: Bob Example <bob@example.test>
Subject: test message $n
Date: Mon, 01 Jan 2024 12:00:00 +0000
Message-ID: <msg$n@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Bob,

this is test message $n.  It has  two  spaces, a trailing space 
and a tab	inside.

-- 
Alice
EOF
}

crlf() { sed 's/$/\r/' "$1" >"$2"; }

mbox_add() {
	printf 'From %s Mon Jan  1 12:00:00 2024\n' "${3:-alice@example.test}" >>"$1"
	sed 's/^\(>*From \)/>\1/' "$2" >>"$1"
	echo >>"$1"
}

# count_lines FILE: lines in FILE (without the leading blanks of wc).
count_lines() { wc -l <"$1" | tr -d ' '; }
