# The fuzz targets of the module's parsers (bench/fuzz/): they build, every
# seed and regression input (bench/fuzz/regressions/<target>/, one kept per
# crash ever found) runs clean, and a few seconds of fuzzing each find nothing
# new. Needs clang (Debian's clang 14 with libclang-rt-14-dev); skipped without.
# Runs well under a minute: about 5 s to build, then 4 s of fuzzing a target.
# A new crash is kept under bench/var/fuzz-test/new-crashes/<target>/ (not in
# the source tree): move it to bench/fuzz/regressions/<target>/ to keep it.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Cwd qw(abs_path);
use FindBin ();

my $root = abs_path("$FindBin::Bin/../..");
my $run = "$root/bench/fuzz/run";
my @targets = qw(fuzz_path fuzz_stripe_signature fuzz_stripe_event fuzz_rfc3339 fuzz_fields fuzz_twilio_signature
    fuzz_form fuzz_sms);
my $seconds = $ENV{SR_FUZZ_SMOKE_SECONDS} || 4;

my $clang = `sh -c 'command -v clang' 2>/dev/null`;
chomp $clang;
plan skip_all => 'clang is not installed (apt-get install clang libclang-rt-14-dev): '
    . 'the fuzz targets are built with clang -fsanitize=fuzzer,address'
    unless $clang && -x $clang;

plan tests => 1 + 2 * @targets;

$ENV{FUZZ_OUT} = "$root/bench/var/fuzz-test";
$ENV{FUZZ_NEW_CRASHES} = "$root/bench/var/fuzz-test/new-crashes";

sub run_fuzz {
    my @args = @_;
    my $out = `'$run' @args 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = run_fuzz('--build');
if ($rc == 77) {
    # clang is there but cannot link the libFuzzer runtime.
    diag $out;
}
ok $rc == 0, 'the fuzz targets build' or diag $out;

for my $t (@targets) {
    SKIP: {
        skip "$t did not build", 2 if $rc != 0;
        my ($r1, $o1) = run_fuzz('--regressions', $t);
        ok $r1 == 0, "$t: every seed and regression input runs clean" or diag $o1;
        my ($r2, $o2) = run_fuzz('--no-replay', $seconds, $t);
        ok $r2 == 0, "$t: $seconds s of fuzzing find no new crash" or diag $o2;
    }
}
