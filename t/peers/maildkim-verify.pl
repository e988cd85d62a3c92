#!/usr/bin/perl
# maildkim-verify.pl: verify messages with Mail::DKIM (libmail-dkim-perl),
# keys from the test's DNS server through Net::DNS.
#
#   maildkim-verify.pl -p PORT [-S SERVER] FILE...
#
# Prints one line per FILE: "FILE v1 v2 ..." with one verdict per
# DKIM-Signature in header order (Mail::DKIM's result words: pass, fail,
# invalid, temperror, none; with the detail after a colon when not pass).
# LF-only input is fed as CRLF, as Mail::DKIM requires.
use strict;
use warnings;
use Getopt::Std;
use Net::DNS;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;

my %o;
getopts('p:S:', \%o) or die "usage\n";
die "maildkim-verify: -p PORT required\n" unless $o{p};
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
	nameservers => [ $o{S} // '127.0.0.1' ],
	port        => $o{p},
	recurse     => 0,
	tcp_timeout => 5,
	udp_timeout => 5,
	retry       => 2,
));

for my $f (@ARGV) {
	open(my $in, '<:raw', $f) or die "maildkim-verify: $f: $!\n";
	my $msg = do { local $/; <$in> };
	close $in;
	$msg =~ s/\r?\n/\r\n/g;
	my $v = Mail::DKIM::Verifier->new;
	$v->PRINT($msg);
	$v->CLOSE;
	my @out;
	for my $s ($v->signatures) {
		next unless $s->isa('Mail::DKIM::Signature');	# not DomainKeys
		my $r = $s->result // 'none';
		my $d = $s->result_detail // '';
		if ($r ne 'pass' && $d ne '') {
			$d =~ s/^\Q$r\E\s*//;
			$d =~ s/[()]//g;
			$d =~ s/\s+/_/g;
			$r .= ":$d" if $d ne '';
		}
		push @out, $r;
	}
	@out = ('none') unless @out;
	print "$f @out\n";
}
exit 0;
