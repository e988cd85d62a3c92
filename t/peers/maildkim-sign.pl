#!/usr/bin/perl
# maildkim-sign.pl: sign messages with Mail::DKIM (libmail-dkim-perl), for
# interop tests.
#
#   maildkim-sign.pl -a rsa-sha256 -c HEADER/BODY -d DOMAIN -s SELECTOR
#                    -k KEY.pem [-l N] [-H h1:h2] -o OUTDIR FILE...
#
# Each FILE is signed and written, signature prepended, to OUTDIR/basename.
# -l N adds l=N (Mail::DKIM hashes only the first N canonical body bytes).
# Mail::DKIM wants CRLF input: LF-only messages are fed with LF turned into
# CRLF (its own documented requirement), and the signature is written back
# with the message's own line endings.  Debian's Mail::DKIM has no Ed25519.
use strict;
use warnings;
use Getopt::Std;
use File::Basename;
use Mail::DKIM::Signer;
use Mail::DKIM::Signature;

my %o;
getopts('a:c:d:s:k:l:H:o:', \%o) or die "usage\n";
my $algo  = $o{a} // 'rsa-sha256';
my $canon = $o{c} // 'relaxed/relaxed';
die "maildkim-sign: -d -s -k -o required\n"
  unless $o{d} && $o{s} && $o{k} && $o{o};

my $rc = 0;
for my $f (@ARGV) {
	open(my $in, '<:raw', $f) or die "maildkim-sign: $f: $!\n";
	my $msg = do { local $/; <$in> };
	close $in;
	my $crlf = ($msg =~ /\A[^\n]*\r\n/) ? 1 : 0;
	(my $wire = $msg) =~ s/\r?\n/\r\n/g;

	my $policy = sub {
		my $dkim = shift;
		my $sig = Mail::DKIM::Signature->new(
			Algorithm => $algo,
			Method    => $canon,
			Headers   => $o{H} // $dkim->headers,
			Domain    => $o{d},
			Selector  => $o{s},
			Timestamp => time(),
		);
		$sig->body_count($o{l}) if defined $o{l};
		$dkim->add_signature($sig);
		return;
	};
	my $dkim = Mail::DKIM::Signer->new(
		Policy  => $policy,
		KeyFile => $o{k},
	);
	$dkim->PRINT($wire);
	$dkim->CLOSE;
	my $sig = $dkim->signature;
	unless ($sig) {
		warn "maildkim-sign: $f: no signature\n";
		$rc = 1;
		next;
	}
	my $field = $sig->as_string;	# folded with CRLF, no final line end
	$field .= "\r\n";
	$field =~ s/\r\n/\n/g unless $crlf;
	open(my $out, '>:raw', "$o{o}/" . basename($f))
	  or die "maildkim-sign: $o{o}: $!\n";
	print $out $field, $msg;
	close $out;
}
exit $rc;
