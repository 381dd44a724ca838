# `apachectl graceful` (SIGUSR1 to the parent): the module comes back with the
# new generation of children, answers requests, and its mod_watchdog sweep
# keeps running: an offer that expires after the restart is passed on without
# any sweep request.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

my $interval = conf_value('SlotRecoverySweepInterval', 30);
plan skip_all => "the watchdog sweeps every $interval s: too long to wait for" if $interval > 120;

reset_db();
twilio_reset();

my $shop = make_shop(name => 'Graceful Shop');
my $canceller = make_customer($shop->{id}, name => 'Canceller');
my $a = make_customer($shop->{id}, name => 'A');
my $b = make_customer($shop->{id}, name => 'B');
my $slot = cancel(make_appointment($shop->{id}, $canceller->{id})->{id})->json->{slotOpening};
my $first = live_offer($slot->{id});
is $first->{customer_id}, $a->{id}, 'before the restart: A has the offer';

my $pid_file = Apache::Test::vars('t_pid_file') || Apache::Test::vars('t_logs') . '/httpd.pid';
open my $fh, '<', $pid_file or die "$pid_file: $!";
chomp(my $pid = <$fh>);
close $fh;
my $error_log = Apache::Test::vars('t_logs') . '/error_log';
my $resumed = sub {
    open my $log, '<', $error_log or return 0;
    return scalar grep { /resuming normal operations/ } <$log>;
};
my $before = $resumed->();
ok kill('USR1', $pid), "graceful restart of httpd (pid $pid)";
ok wait_until(sub { $resumed->() > $before }, timeout => 30, interval => 0.2),
    '... the new generation resumed normal operations';

my $r = wait_until(sub { my $x = api(GET => "/api/slot-openings/$slot->{id}"); $x->status == 200 ? $x : undef },
    timeout => 15, interval => 0.2);
ok $r, 'after the restart the API answers 200';
is $r && $r->json->{status}, 'open', '... the slot opening is still open';

expire_offer($first->{id});
my $next = wait_until(sub {
    my $l = live_offer($slot->{id});
    $l && $l->{status} eq 'sent' && $l->{customer_id} eq $b->{id} ? $l : undef;
}, timeout => $interval + 20, interval => 0.5);
ok $next, "without a sweep request, the new generation's watchdog offers the slot to B within $interval s (+20)";
is offers_of($slot->{id})->[0]{status}, 'expired', "... A's offer expired";
is scalar @{ messages_to($b->{phone}) }, 1, '... B got exactly one SMS';

done_testing();
