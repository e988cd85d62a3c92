#!/bin/sh
# imapfolder: the seed's three examples, then a table of tricky names
# (non-BMP, "&", NFC/NFD, controls, "."/"/" with other separators and
# specials, leading/trailing/doubled separators, invalid UTF-8) each
# checked against real Exim's ${imapfolder} (t/peers/exim.sh, run here)
# and, with --plain, against doveadm mailbox mutf7 when Dovecot is
# installed; encode then -d is the identity.  Diagnostics: one line with
# the byte offset, exit 65, the other stdin names still converted.
. "$(dirname "$0")/lib.sh"
require_bin imapfolder

# SEP|SPECIALS|NAME, NAME in printf %b notation (octal escapes).
cat >table <<'EOF'
/||Foo/Bar
.|/|Foo/Bar
/||R\303\244ksm\303\266rg\303\245s
/||
/||/Foo
/||//Foo
/||///Foo
/||Foo/
/||Foo//
/||Foo//Bar
/||//
/||/Foo/
/||Foo.Bar
/||a/./b
/||&
/||&-
/||&AOQ-
/||a&b
/||A&-B
/||\360\237\230\200
/||\360\235\204\236x
/||a\360\237\230\200b\360\237\230\200
/||\303\251
/||e\314\201
/||a\tb
/||a\001
/||a\177b
/||\037
/||\303\244/\303\266
/||\303\244//\303\266
/||\303\244/
/||/\303\244
/||\303\244\303\244
/||\303\244\303\244\303\244
/||\303\244a
/||\303\244-
/||\303\244&\303\266
/||\377
/||a\303
/||\300\200
/||\355\240\200
.||a.b
.||.a.
.||a..b
.||a/b
.|/|a/b.c
/|.|a.b/c
/|/|Foo/Bar
x||axb
x||a.b
&||a&b
/|&|a&b
/|~|a~b
/|b|ab
/|-|a-b
/||a b
/||~
/||INBOX/Sent Items
/||\346\227\245\346\234\254\350\252\236/\343\203\241\343\203\274\343\203\253
/||\357\277\277
/||\364\217\277\277
/||\302\200
/||[Gmail]/All Mail
/||a-&-b
/|./|a./b
.||..
/||\303\234n\303\257c\303\266d\303\251/\303\261
/||\364\220\200\200
/||a\r
/| |a b
 ||a b
/||-&-
EOF

test_expect_success "the seed's three examples" '
	test "$(imapfolder Foo/Bar)" = Foo.Bar &&
	test "$(imapfolder -s . -S / Foo/Bar)" = "Foo&AC8-Bar" &&
	test "$(imapfolder "$(printf "R\303\244ksm\303\266rg\303\245s")")" = \
	    "R&AOQ-ksm&APY-rg&AOU-s"
'

test_expect_success 'the table has at least 50 names' '
	test "$(wc -l <table)" -ge 50
'

# ours SEP SPECIALS NAME: our output, or ERROR.
ours() {
	if [ -n "$2" ]; then
		imapfolder -s "$1" -S "$2" -- "$3" 2>/dev/null || echo ERROR
	else
		imapfolder -s "$1" -- "$3" 2>/dev/null || echo ERROR
	fi
}

mkdir -p spool log && chmod 755 . && chmod 777 spool log
cat >exim.conf <<EOF
exim_user = nobody
exim_group = nogroup
never_users =
spool_directory = $TEST_DIR/spool
log_file_path = $TEST_DIR/log/%slog
EOF
exim_ok=yes
sh "$TEST_SRC/peers/exim.sh" "$TEST_DIR/exim.conf" -be 'x' >/dev/null 2>&1 ||
	exim_ok=

# exim SEP SPECIALS NAME: ${imapfolder{NAME}{SEP}{SPECIALS}}, or ERROR.
# "\", "$", "{" and "}" are escaped for the expansion.  (Exim 4.96 dies
# of SIGSEGV on a name that is one separator: not in the table.)
exim() {
	_n=$(printf '%s' "$3" | sed 's/[\\${}]/\\&/g')
	if [ -n "$2" ]; then
		_x="\${imapfolder{$_n}{$1}{$2}}"
	else
		_x="\${imapfolder{$_n}{$1}}"
	fi
	_r=$(sh "$TEST_SRC/peers/exim.sh" "$TEST_DIR/exim.conf" -be "$_x" 2>&1)
	case $_r in Failed:*) echo ERROR ;; *) printf '%s\n' "$_r" ;; esac
}

row=0
while IFS='|' read -r sep sp name; do
	row=$((row + 1))
	export sep sp name
	if [ -z "$exim_ok" ]; then
		test_skip "row $row ($name) agrees with exim -be" \
		    "Exim not available (contrib/deps.sh check unpacks it)"
	else
		test_expect_success "row $row ($name) agrees with exim -be" '
			nm=$(printf "%b" "$name") &&
			want=$(exim "$sep" "$sp" "$nm") &&
			got=$(ours "$sep" "$sp" "$nm") &&
			echo "exim: $want" && echo "ours: $got" &&
			test "$want" = "$got"
		'
	fi
done <table

test_expect_success 'encode then -d gives every valid name back' '
	fails=0
	while IFS="|" read -r sep sp name; do
		nm=$(printf "%b" "$name")
		enc=$(imapfolder --plain -- "$nm" 2>/dev/null) || continue
		back=$(imapfolder --plain -d -- "$enc") &&
		test "$back" = "$nm" || { echo "plain: $name"; fails=1; }
		enc=$(ours "$sep" "$sp" "$nm")
		test "$enc" = ERROR && continue
		case $nm in "$sep"*|*"$sep"|*"$sep$sep"*) continue ;; esac
		if [ -n "$sp" ]; then
			back=$(imapfolder -d -s "$sep" -S "$sp" -- "$enc")
		else
			back=$(imapfolder -d -s "$sep" -- "$enc")
		fi
		test "$back" = "$nm" || { echo "exim mode: $name"; fails=1; }
	done <table
	test $fails = 0
'

if ! command -v doveadm >/dev/null 2>&1; then
	test_skip '--plain agrees with doveadm mailbox mutf7' 'no doveadm'
	test_skip '-d --plain refuses what doveadm refuses' 'no doveadm'
else
	test_expect_success '--plain agrees with doveadm mailbox mutf7' '
		fails=0
		while IFS="|" read -r sep sp name; do
			nm=$(printf "%b" "$name")
			want=$(doveadm mailbox mutf7 -- "$nm" 2>/dev/null) ||
				want=ERROR
			got=$(imapfolder --plain -- "$nm" 2>/dev/null) || got=ERROR
			test "$want" = "$got" ||
				{ echo "$name: doveadm $want, ours $got"; fails=1; }
			test "$got" = ERROR && continue
			want=$(doveadm mailbox mutf7 -7 -- "$got" 2>/dev/null)
			test "$want" = "$nm" ||
				{ echo "$got: doveadm -7 gives $want"; fails=1; }
		done <table
		test $fails = 0
	'
	# Dovecot ignores non-zero padding bits (&AOR-); we refuse them.
	test_expect_success '-d --plain refuses what doveadm refuses' '
		for s in "&" "a&AOQ" "&AOQ-&APY-" "&AGE-" "&ACY-" "&AOQA-" \
		    "&AO-" "&AO!-" "&AO/-" "&2D0-" "&3gA-" "&2D0AQQ-" "&AAA-" \
		    "$(printf "a\tb")" "$(printf "R\303\244")"; do
			expect_status 65 doveadm mailbox mutf7 -7 -- "$s" &&
			expect_status 65 imapfolder --plain -d -- "$s" || return 1
		done 2>/dev/null &&
		test "$(doveadm mailbox mutf7 -7 -- "&AOR-")" = \
		    "$(printf "\303\244")" &&
		expect_status 65 imapfolder --plain -d -- "&AOR-" 2>/dev/null
	'
fi

test_expect_success 'bad names on stdin: a line each with the offset, exit 65' '
	printf "Foo/Bar\nab\377c\nFoo.Bar\n\303\244\n" >in &&
	expect_status 65 imapfolder <in >out 2>err &&
	printf "Foo.Bar\n&AOQ-\n" >want && cmp want out &&
	test "$(wc -l <err)" = 2 &&
	grep -q "^imapfolder: line 2 \"ab\\\\xffc\": invalid UTF-8 at byte 2$" err &&
	grep -q "^imapfolder: line 3 \"Foo.Bar\": illegal character .\\.. at byte 3$" \
	    err
'

test_expect_success '-d on stdin: a bad name is reported, the others decode' '
	printf "Foo.Bar\n&AGE-\nR&AOQ-ksm\n" >in &&
	expect_status 65 imapfolder -d <in >out 2>err &&
	printf "Foo/Bar\nR\303\244ksm\n" >want && cmp want out &&
	grep -q "line 2 .*encoded printable ASCII.* at byte 3" err
'

test_expect_success '--encode-dots: the prose reading of the documentation' '
	test "$(imapfolder --encode-dots Foo.Bar/Baz)" = "Foo&AC4-Bar.Baz" &&
	test "$(imapfolder -d --encode-dots "Foo&AC4-Bar.Baz")" = Foo.Bar/Baz
'

test_expect_success '--charset ISO-8859-1 in, and out with -d' '
	test "$(imapfolder --charset ISO-8859-1 "$(printf "R\344ksm")")" = \
	    "R&AOQ-ksm" &&
	imapfolder -d --charset ISO-8859-1 "R&AOQ-ksm" >out &&
	printf "R\344ksm\n" >want && cmp want out &&
	expect_status 65 imapfolder -d --charset ISO-8859-1 "&IKw-" 2>err &&
	grep -q "at byte 0 of its UTF-8 form" err
'

test_expect_success 'non-BMP characters become surrogate pairs' '
	test "$(imapfolder "$(printf "\360\237\230\200")")" = "&2D3eAA-" &&
	test "$(imapfolder -d "&2D3eAA-" | od -An -tx1 | tr -d " ")" = f09f98800a &&
	test "$(imapfolder "$(printf "\364\217\277\277")")" = "&2,,f,w-"
'

# The shipped maildrop recipe, run by the real maildrop.
if ! command -v maildrop >/dev/null 2>&1 ||
    ! command -v reformail >/dev/null 2>&1; then
	test_skip 'maildrop recipe files by X-Folder' 'maildrop is not installed'
else
	# md HEADER-LINE: deliver a message with it through the recipe.
	md() {
		mkdir -p M/cur M/new M/tmp
		{
			echo "PATH=\"$MXKIT_BIN:/usr/bin:/bin\""
			echo "DEFAULT=\"$TEST_DIR/M/\""
			echo "IMAPFOLDER_ROOT=\"$TEST_DIR/M\""
			echo "IMAPFOLDER_PARENT=\"lists/\""
			echo "include \"$TOP/contrib/maildrop/imapfolder-by-header\""
			echo 'to "$DEFAULT"'
		} >md.filter
		chmod 600 md.filter
		printf '%s\nSubject: t\n\nbody\n' "$1" | timeout 60 maildrop md.filter
	}
	test_expect_success 'maildrop recipe files by X-Folder, safely' '
		md "X-Folder: $(printf "R\303\244ksm\303\266rg\303\245s")" &&
		ls "M/.lists.R&AOQ-ksm&APY-rg&AOU-s/new" | grep -q . &&
		test -f "M/.lists.R&AOQ-ksm&APY-rg&AOU-s/maildirfolder" &&
		md "X-Folder: a;\$(touch pwned) \`touch pwned2\` b.c" &&
		! ls pwned* M/pwned* 2>/dev/null &&
		ls "M/.lists.a;\$(touch pwned) \`touch pwned2\` b&AC4-c/new" |
		    grep -q . &&
		md "X-Folder: $(printf "bad\377")" &&
		md "Subject: no folder field" &&
		test "$(ls M/new | wc -l)" = 2
	'
fi

test_expect_success 'usage errors exit 64' '
	expect_status 64 imapfolder -s "" x &&
	expect_status 64 imapfolder -s ab x &&
	expect_status 64 imapfolder --plain -s . x &&
	expect_status 64 imapfolder --charset NO-SUCH-CHARSET x &&
	expect_status 64 imapfolder --bogus x
' 2>/dev/null

test_done
