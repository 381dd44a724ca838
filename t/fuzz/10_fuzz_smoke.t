# SPDX-License-Identifier: Apache-2.0
# The fuzz targets of the module's parsers and escapers (bench/fuzz/src/, every
# one there): they build, each has a kept seed corpus, every seed and
# regression input (bench/fuzz/corpus/<target>/, bench/fuzz/regressions/<target>/,
# one kept per crash ever found) is executed (counted) and runs clean, and a
# few seconds of fuzzing each run at least SR_FUZZ_SMOKE_MIN_RUNS inputs and
# find nothing new. Needs clang (Debian's clang 14 with libclang-rt-14-dev): skipped without, failed without under CI=true.
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
# Every target of bench/fuzz/src/: one left out of bench/fuzz/run is an
# unknown target there, and fails below instead of going untested.
my @targets = sort map { m{/(fuzz_\w+)\.c$} ? $1 : () } glob "$root/bench/fuzz/src/fuzz_*.c";

# The kept inputs of a target: its seed corpus and its regression inputs.
sub kept_inputs {
    my ($t) = @_;
    my %n;
    for my $kind (qw(corpus regressions)) {
        my $dir = "$root/bench/fuzz/$kind/$t";
        $n{$kind} = 0;
        next unless opendir(my $dh, $dir);
        $n{$kind} = grep { !/^\./ && -f "$dir/$_" } readdir $dh;
        closedir $dh;
    }
    return \%n;
}
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

plan tests => 2 + 6 * @targets;

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
cmp_ok scalar(@targets), '>=', 11, 'bench/fuzz/src holds the fuzz targets' or diag "@targets";

for my $t (@targets) {
    my $kept = kept_inputs($t);
    cmp_ok $kept->{corpus}, '>', 0, "$t: a seed corpus is kept in bench/fuzz/corpus/$t/";
    SKIP: {
        skip "$t did not build", 5 if $rc != 0;
        ok -x "$ENV{FUZZ_OUT}/bin/$t", "$t: bench/fuzz/run --build built it";
        my ($r1, $o1) = run_fuzz('--regressions', $t);
        ok $r1 == 0, "$t: every seed and regression input runs clean" or diag $o1;
        # bench/fuzz/run counts the inputs libFuzzer reports as executed: all of the kept ones.
        my ($replayed) = $o1 =~ /ok\s+\Q$t\E: (\d+) corpus and regression inputs replayed/;
        is $replayed // 0, $kept->{corpus} + $kept->{regressions},
            "$t: all $kept->{corpus} seed and $kept->{regressions} regression inputs replayed" or diag $o1;
        my ($r2, $o2) = run_fuzz('--no-replay', $seconds, $t);
        ok $r2 == 0, "$t: $seconds s of fuzzing find no new crash" or diag $o2;
        # bench/fuzz/run prints "<target> <secs>s <executions> runs ...".
        my ($runs) = $o2 =~ /^\Q$t\E\s+\S+\s+(\d+) runs/m;
        cmp_ok $runs // 0, '>=', $min_runs, "$t: at least $min_runs inputs run in $seconds s" or diag $o2;
    }
}
