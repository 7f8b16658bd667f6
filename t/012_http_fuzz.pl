# t/012_http_fuzz.pl: the HTTP request parser's unit tests, then fuzzing
# for a bounded time (fuzz/run-fuzz; PGREPL_FUZZ_SECONDS, 30 by default).
#
# The parser is the one part of pgrepl that reads bytes from anyone who can
# reach a port, so every run of the suite fuzzes it afresh, with
# AddressSanitizer and UndefinedBehaviorSanitizer, from the seeds in
# fuzz/corpus.  An input that fails is kept under tmp_check, and the log
# says how to replay it.

use strict;
use warnings;

use FindBin;
use IPC::Run qw(run);
use PostgreSQL::Test::Utils;
use Test::More;

if (!grep { -x "$_/clang" } split(/:/, $ENV{PATH}))
{
	plan skip_all => 'clang is not installed (Debian packages clang, libclang-rt-14-dev)';
}

my $work = "${PostgreSQL::Test::Utils::tmp_check}/fuzz";
my ($out, $err);
my $ok = run([ "$FindBin::RealBin/../fuzz/run-fuzz", $work ],
	'>', \$out, '2>', \$err);
note($out);
note($err) if $err;
unlike($out, qr/^not ok/m, 'the parser passes its unit tests');
like($out, qr/^1\.\.\d+$/m, 'the unit tests ran to the end');
ok($ok, 'fuzzing the parser found no failure')
  or diag("inputs that failed are in $work:\n$err");
like($out, qr/number_of_executed_units:\s+\d{4,}/,
	'the fuzzer ran thousands of inputs at least');

done_testing();
