# SPDX-License-Identifier: Apache-2.0
# The suite's server never sweeps on its own (SlotRecoverySweepInterval 3600 in
# t/conf/extra.conf.in: its first sweep would come an hour after start), so no
# watchdog sweep changes what a test counts between its database change and its
# own POST /api/jobs/sweep. Its error log (slotrecovery:debug logs every sweep,
# even an idle one) shows no sweep so far; t/run-suite checks the same once
# every file ran. That a sweep is logged the way this looks for is shown on a
# twin that sweeps every second.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(conf_value);
use SlotRecovery::Httpd ();

# A watchdog run: a sweep's or a worker run's summary, or why it did not run (sr_watchdog.c).
my $SWEPT = qr/\bsweep(?:: \d+ offers expired|(?: of the .*?)? (?:skipped|stopped))|\bworker(?:: \d+ offers sent| run of the .*? (?:skipped|stopped))/;

is conf_value('SlotRecoverySweepInterval'), 3600, 't/conf/extra.conf sets SlotRecoverySweepInterval 3600';
is conf_value('SlotRecoveryWorkerInterval'), 3600, '... and SlotRecoveryWorkerInterval 3600';
my $conf = Apache::Test::vars('t_conf') . '/extra.conf';
open my $cf, '<', $conf or die "$conf: $!";
like do { local $/; <$cf> }, qr/^\s*LogLevel\b.*\bslotrecovery:debug\b/m,
    '... and LogLevel slotrecovery:debug (idle sweeps are logged too)';
close $cf;

my $elog = Apache::Test::vars('t_logs') . '/error_log';
open my $fh, '<', $elog or die "$elog: $!";
my @swept = grep { /$SWEPT/ } <$fh>;
close $fh;
is scalar @swept, 0, "no watchdog sweep in the suite's error log so far" or diag @swept[0 .. ($#swept < 4 ? $#swept : 4)];

my $twin = SlotRecovery::Httpd->suite_twin(sweep_interval => 1)->start;
ok wait_until(sub { $twin->log_since(0) =~ $SWEPT }, timeout => 15, interval => 0.2),
    'a twin that sweeps every second logs a line this test recognises';
ok $twin->watchdog_sweeps(0)->{sweeps} >= 1, '... which watchdog_sweeps counts';
$twin->stop;

done_testing();
