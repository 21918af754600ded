package BenchNoPTR;
# Loaded into the Perl qpsmtpd by bench/run.sh (perl -T -I bench/perl -MBenchNoPTR ...).
#
# Debian's qpsmtpd 0.94 asks the resolver in /etc/resolv.conf for the PTR record of every
# client (Qpsmtpd::TcpServer::tcpenv); forkserver's -H flag does not reach that code. The
# benchmark must not send anything off the machine, and the Swift daemon does no reverse
# DNS either, so this replaces tcpenv with one that names the client "[ip]" and asks no one.
use strict;
use warnings;
use Qpsmtpd::TcpServer ();

no warnings 'redefine';
sub Qpsmtpd::TcpServer::tcpenv {
    my ($local_ip, $remote_ip) = @_;
    my $name = defined $remote_ip && length $remote_ip ? "[$remote_ip]" : "[noip!]";
    return ($local_ip, $remote_ip, $name);
}

1;
