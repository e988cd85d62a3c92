#!/usr/bin/perl
# peer-maildkim.pl PORT MBOX: verify every message of an mboxrd archive with
# Mail::DKIM in one process (messages split at "From " lines, ">From "
# unquoted, LF fed as CRLF as Mail::DKIM requires), keys from the DNS server
# on 127.0.0.1:PORT through Net::DNS, answers cached in-process as
# dkimverify caches its own.  Prints "messages=N pass=P fail=F bytes=B".
use strict;
use warnings;
use Net::DNS;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;

package CachingResolver {
	our @ISA = ('Net::DNS::Resolver');
	my %cache;
	sub send {
		my ($self, @q) = @_;
		my $k = join("\0", map { defined $_ ? $_ : '' } @q);
		return $cache{$k} //= $self->SUPER::send(@q);
	}
	sub query {
		my ($self, @q) = @_;
		my $k = "q\0" . join("\0", map { defined $_ ? $_ : '' } @q);
		return $cache{$k} //= $self->SUPER::query(@q);
	}
}

my ($port, $path) = @ARGV;
Mail::DKIM::DNS::resolver(CachingResolver->new(
	nameservers => ['127.0.0.1'], port => $port, recurse => 0,
	udp_timeout => 5, retry => 2));

my ($n, $ok, $bad, $bytes) = (0, 0, 0, 0);
sub verify_one {
	my ($msg) = @_;
	$msg =~ s/^>(>*From )/$1/mg;
	$n++;
	$bytes += length $msg;
	$msg =~ s/\n/\r\n/g;
	my $v = Mail::DKIM::Verifier->new;
	$v->PRINT($msg);
	$v->CLOSE;
	my @s = grep { $_->isa('Mail::DKIM::Signature') } $v->signatures;
	my $good = @s && !grep { ($_->result // '') ne 'pass' } @s;
	$good ? $ok++ : $bad++;
}

open(my $fh, '<:raw', $path) or die "peer-maildkim: $path: $!\n";
my ($cur, $prev_empty) = (undef, 1);
while (my $line = <$fh>) {
	if ($prev_empty && $line =~ /^From /) {
		if (defined $cur) {
			$cur =~ s/\n\z//;	# the writer's blank line
			verify_one($cur);
		}
		$cur = '';
		$prev_empty = 0;
		next;
	}
	$cur .= $line if defined $cur;
	$prev_empty = ($line eq "\n");
}
if (defined $cur) {
	$cur =~ s/\n\z//;
	verify_one($cur);
}
print "messages=$n pass=$ok fail=$bad bytes=$bytes\n";
