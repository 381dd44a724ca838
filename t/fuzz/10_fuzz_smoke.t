# The fuzz targets of the module's parsers (bench/fuzz/): they build, every
# seed and regression input (bench/fuzz/regressions/<target>/, one kept per
# crash ever found) runs clean, and a few seconds of fuzzing each find nothing
# new. Needs clang (Debian's clang 14 with libclang-rt-14-dev): skipped without, failed without under CI=true.
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

# A target that fuzzes at all runs thousands of inputs in a few seconds; fewer
# means it did not really run (a start-up failure, a hang on the first input).
my $min_runs = $ENV{SR_FUZZ_SMOKE_MIN_RUNS} || 1000;

my $clang = `sh -c 'command -v clang' 2>/dev/null`;
chomp $clang;
unless ($clang && -x $clang) {
    my $why = 'clang is not installed (apt-get install clang libclang-rt-14-dev): '
        . 'the fuzz targets are built with clang -fsanitize=fuzzer,address';
    # In CI a missing tool is a broken setup (scripts/test installs clang), never a skip.
    if (($ENV{CI} // '') eq 'true') {
        plan tests => 1;
        fail "CI=true: $why";
        exit 0;
    }
    plan skip_all => $why;
}

plan tests => 1 + 3 * @targets;

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
        skip "$t did not build", 3 if $rc != 0;
        my ($r1, $o1) = run_fuzz('--regressions', $t);
        ok $r1 == 0, "$t: every seed and regression input runs clean" or diag $o1;
        my ($r2, $o2) = run_fuzz('--no-replay', $seconds, $t);
        ok $r2 == 0, "$t: $seconds s of fuzzing find no new crash" or diag $o2;
        # bench/fuzz/run prints "<target> <secs>s <executions> runs ...".
        my ($runs) = $o2 =~ /^\Q$t\E\s+\S+\s+(\d+) runs/m;
        cmp_ok $runs // 0, '>=', $min_runs, "$t: at least $min_runs inputs run in $seconds s" or diag $o2;
    }
}
