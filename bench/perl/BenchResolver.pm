package BenchResolver;
# Loaded into the Perl qpsmtpd by bench/lib/bench.py for the "dns" scenario
# (perl -T -I bench/perl -MBenchResolver ...), with BENCH_RESOLV_CONF naming a private
# resolv.conf ("nameserver 127.53.0.1", "options port:N") that points at the bench's unbound.
#
# Net::DNS takes its defaults from the first Resolver->new(config_file => ...) of the process,
# and every later Resolver->new (the plugins', the core's PTR lookup) starts from them, so the
# machine's /etc/resolv.conf is neither read nor changed. Net::DNS also honours RES_NAMESERVERS
# and RES_OPTIONS=port:N, but under -T (as Debian runs qpsmtpd) addresses from %ENV stay tainted
# and sending to them dies with "Insecure dependency"; a file's contents are untainted by Net::DNS.
use strict;
use warnings;
use Net::DNS::Resolver ();

if (defined $ENV{BENCH_RESOLV_CONF}) {
    my ($file) = $ENV{BENCH_RESOLV_CONF} =~ m{\A(/[\w./-]+)\z}
        or die "BENCH_RESOLV_CONF must be an absolute path\n";
    Net::DNS::Resolver->new(config_file => $file);
}

1;
