# SPDX-License-Identifier: Apache-2.0
# `apachectl graceful` (SIGUSR1 to the parent): the module comes back with the
# new generation of children, answers requests, and its mod_watchdog sweep
# keeps running: an offer that expires after the restart is passed on without
# any sweep request. The suite's server sweeps once an hour (so that no sweep
# disturbs the other tests): this runs on a twin of it that sweeps every 2 s.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);
use SlotRecovery::Httpd ();

my $interval = 2;
my $shop = make_shop(name => 'Graceful Shop');
my $canceller = make_customer($shop->{id}, name => 'Canceller');
my $a = make_customer($shop->{id}, name => 'A');
my $b = make_customer($shop->{id}, name => 'B');
my $slot = cancel(make_appointment($shop->{id}, $canceller->{id})->{id})->json->{slotOpening};
my $first = live_offer($slot->{id});
is $first->{customer_id}, $a->{id}, 'before the restart: A has the offer';

my $twin = SlotRecovery::Httpd->suite_twin(sweep_interval => $interval)->start;
my $pid = wait_until(sub { $twin->pid }, timeout => 10) or die "the twin wrote no pid file";
my $resumed = sub { scalar(() = $twin->log_since(0) =~ /resuming normal operations/g) };
my $before = $resumed->();
ok kill('USR1', $pid), "graceful restart of the twin httpd (pid $pid)";
ok wait_until(sub { $resumed->() > $before }, timeout => 30, interval => 0.2),
    '... the new generation resumed normal operations';
my $mark = $twin->log_size;

my $r = wait_until(sub { my $x = api(GET => "/api/slot-openings/$slot->{id}", undef, prefix => $twin->url);
    $x->status == 200 ? $x : undef }, timeout => 15, interval => 0.2);
ok $r, 'after the restart the API answers 200';
is $r && $r->json->{status}, 'open', '... the slot opening is still open';

expire_offer($first->{id});
my $next = wait_until(sub {
    my $l = live_offer($slot->{id});
    $l && $l->{status} eq 'sent' && $l->{customer_id} eq $b->{id} ? $l : undef;
}, timeout => $interval + 20, interval => 0.2);
ok $next, "without a sweep request, the new generation's watchdog offers the slot to B within $interval s (+20)";
is offers_of($slot->{id})->[0]{status}, 'expired', "... A's offer expired";
is scalar @{ messages_to($b->{phone}) }, 1, '... B got exactly one SMS';
ok wait_until(sub { $twin->watchdog_sweeps($mark)->{slotsAdvanced} >= 1 }, timeout => 10, interval => 0.2),
    '... and the twin\'s watchdog logged that sweep';
$twin->stop;

done_testing();
